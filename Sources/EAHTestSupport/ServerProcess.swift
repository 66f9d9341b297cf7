import Foundation

/// A server the tests start (`eah-run --serve --port 0`): it runs until `stop()` (or deinit),
/// and `port` is the one it reported binding. Servers held in statics (never deinitialized) are
/// stopped when the test process exits.
public final class ServerProcess: @unchecked Sendable {
    public let process = Process()
    public private(set) var port = 0
    private let lock = NSLock()
    private var errorText = ""

    /// Starts `tool` (a product name) and waits until it reports `http://HOST:PORT/v1` on
    /// standard error; throws with what it printed if it exits or `timeout` seconds pass.
    public init(_ tool: String, _ arguments: [String], timeout: Double = 120) throws {
        process.executableURL = URL(fileURLWithPath: CommandRunner.productsFolder + "/" + tool)
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        err.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.withLock { self.errorText += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
        LiveServers.shared.add(process.processIdentifier)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let port = Self.port(in: stderr) {
                self.port = port
                return
            }
            guard process.isRunning else { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        stop()
        throw StartFailure(stderr: stderr)
    }

    public struct StartFailure: Error, CustomStringConvertible {
        public let stderr: String
        public init(stderr: String) { self.stderr = stderr }
        public var description: String { "the server did not start: \(stderr)" }
    }

    /// What the server printed on standard error so far.
    public var stderr: String { lock.withLock { errorText } }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Stops the server (SIGTERM) and waits for it.
    public func stop() {
        defer { LiveServers.shared.remove(process.processIdentifier) }
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    deinit { stop() }

    private static func port(in text: String) -> Int? {
        guard let range = text.range(of: "http://127.0.0.1:") else { return nil }
        let digits = text[range.upperBound...].prefix { $0.isNumber }
        guard text[range.upperBound...].dropFirst(digits.count).hasPrefix("/") else { return nil }
        return Int(digits)
    }
}

/// The servers still running, sent SIGTERM when the test process exits (a server in a `static
/// let` outlives every test and would otherwise be left running after the suite).
private final class LiveServers: @unchecked Sendable {
    static let shared: LiveServers = {
        atexit { LiveServers.shared.terminateAll() }
        return LiveServers()
    }()

    private let lock = NSLock()
    private var identifiers = Set<Int32>()

    func add(_ identifier: Int32) { lock.withLock { _ = identifiers.insert(identifier) } }

    func remove(_ identifier: Int32) { lock.withLock { _ = identifiers.remove(identifier) } }

    func terminateAll() {
        for identifier in lock.withLock({ identifiers }) { kill(identifier, SIGTERM) }
    }
}

/// HTTP requests the way a user makes them: with curl.
public enum Curl {
    /// A response: status, header lines (lowercased names) and body.
    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: String
    }

    /// Runs `curl -s -i` with `arguments` (URL included) and parses the last response.
    public static func request(_ arguments: [String]) throws -> Response {
        let result = try CommandRunner.run(executable: "/usr/bin/curl", ["-s", "-i", "--max-time", "300"] + arguments)
        return parse(result.stdout)
    }

    /// POSTs `json` to `url`.
    public static func post(_ url: String, json: String, extra: [String] = []) throws -> Response {
        try request(extra + ["-H", "Content-Type: application/json", "--data-binary", json, url])
    }

    static func parse(_ text: String) -> Response {
        var rest = Substring(text)
        var status = 0, headers: [String: String] = [:]
        // Skip interim responses (100 Continue) up to the final header block.
        while rest.hasPrefix("HTTP/") {
            guard let end = rest.range(of: "\r\n\r\n") else { break }
            let lines = rest[..<end.lowerBound].split(separator: "\r\n")
            status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
            headers = [:]
            for line in lines.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            rest = rest[end.upperBound...]
        }
        return Response(status: status, headers: headers, body: String(rest))
    }
}

extension CommandRunner {
    /// Runs `tool` with `input` on its standard input.
    public static func run(_ tool: String, _ arguments: [String], standardInput input: Data) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: productsFolder + "/" + tool)
        process.arguments = arguments
        let inPipe = Pipe(), out = Pipe(), err = Pipe()
        process.standardInput = inPipe
        process.standardOutput = out
        process.standardError = err
        try process.run()
        DispatchQueue.global().async {
            inPipe.fileHandleForWriting.write(input)
            try? inPipe.fileHandleForWriting.close()
        }
        let (stdout, stderr) = drain(process, out: out, err: err)
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }
}
