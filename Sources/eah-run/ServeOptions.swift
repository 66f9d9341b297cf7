import ArgumentParser
import EAHServer

/// Options of `eah-run --serve` (refused without it).
struct ServeOptions: ParsableArguments {
    @Option(help: "The address --serve binds (default: 127.0.0.1, loopback).")
    var host: String?

    @Option(help: "The port --serve listens on (0: any free port, reported at start; default: 8080).")
    var port: Int?

    @Option(help: "Requests --serve queues behind the running one; more are answered 503 with Retry-After (default: 8).")
    var queueSize: Int?

    @Option(help: "The largest request body --serve accepts, in MiB, images as data URLs included (default: 32).")
    var maxRequestMib: Int?

    @Option(help: "The largest image --serve accepts, in MiB encoded (default: 20).")
    var maxImageMib: Int?

    /// Whether any server option was given.
    var given: Bool { host != nil || port != nil || queueSize != nil || maxRequestMib != nil || maxImageMib != nil }

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if let queueSize, queueSize < 0 { throw ValidationError("--queue-size must be 0 or more") }
        if let maxRequestMib, !(1...1024).contains(maxRequestMib) { throw ValidationError("--max-request-mib must be in 1...1024") }
        if let maxImageMib, !(1...1024).contains(maxImageMib) { throw ValidationError("--max-image-mib must be in 1...1024") }
    }

    func configuration() -> ServerConfiguration {
        var configuration = ServerConfiguration()
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let queueSize { configuration.queueCapacity = queueSize }
        if let maxRequestMib { configuration.maxRequestBytes = maxRequestMib << 20 }
        if let maxImageMib { configuration.maxImageBytes = maxImageMib << 20 }
        return configuration
    }
}
