import ArgumentParser
import EAHServer

/// Options of `eah-run --serve`.
struct ServeOptions: ParsableArguments {
    @Option(help: "The address --serve binds (loopback unless told otherwise).")
    var host = "127.0.0.1"

    @Option(help: "The port --serve listens on (0: any free port, reported at start).")
    var port = 8080

    @Option(help: "Requests --serve queues behind the running one; more are answered 503 with Retry-After.")
    var queueSize = 8

    @Option(help: "The largest request body --serve accepts, in MiB (images as data URLs included).")
    var maxRequestMib = 32

    @Option(help: "The largest image --serve accepts, in MiB encoded.")
    var maxImageMib = 20

    func validate() throws {
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535") }
        if queueSize < 0 { throw ValidationError("--queue-size must be 0 or more") }
        if !(1...1024).contains(maxRequestMib) { throw ValidationError("--max-request-mib must be in 1...1024") }
        if !(1...1024).contains(maxImageMib) { throw ValidationError("--max-image-mib must be in 1...1024") }
    }

    func configuration() -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.queueCapacity = queueSize
        configuration.maxRequestBytes = maxRequestMib << 20
        configuration.maxImageBytes = maxImageMib << 20
        return configuration
    }
}
