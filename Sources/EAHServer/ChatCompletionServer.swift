import Dispatch
import EAHCheckpoint
import EAHServerAPI
import Hummingbird
import Logging
import NIOCore

/// The OpenAI-compatible HTTP server of one model, on Hummingbird:
/// `POST /v1/chat/completions` (JSON or server-sent events), `GET /v1/models`, `GET /health`.
///
/// Every error is OpenAI's JSON error object with a 4xx/5xx status.
public struct ChatCompletionServer: Sendable {
    let service: ChatCompletionService
    public let configuration: ServerConfiguration

    public init(model: ServedModel, configuration: ServerConfiguration) {
        service = ChatCompletionService(model: model, configuration: configuration)
        self.configuration = configuration
    }

    /// Serves until SIGINT or SIGTERM; `onListening` gets the bound host and port.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        let service = service
        let maxBytes = configuration.maxRequestBytes
        router.get("health") { _, _ in
            Self.json(.object([("status", .string("ok")), ("model", .string(service.model.name)),
                               ("pending", .integer(service.worker.pendingCount))]))
        }
        router.get("v1/models") { _, _ in Self.json(service.modelList) }
        router.post("v1/chat/completions") { request, context in
            var request = request
            return try await Self.chatCompletions(&request, service: service, maxBytes: maxBytes)
        }
        var logger = Logger(label: "eah-run")
        logger.logLevel = .warning
        let host = configuration.host
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: configuration.port), serverName: "eah-run"),
            onServerRunning: { channel in onListening(host, channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }

    /// Runs the server from synchronous code (a command's `run()`), returning when it stops.
    public func runBlocking(onListening: @escaping @Sendable (String, Int) -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let failure = FailureBox()
        Task {
            do { try await run(onListening: onListening) } catch { failure.set(error) }
            done.signal()
        }
        done.wait()
        if let error = failure.error {
            throw CheckpointError(path: "\(configuration.host):\(configuration.port)", problem: ServeProblem.cannotServe("\(error)"))
        }
    }

    // MARK: Handlers

    private static func chatCompletions(_ request: inout Request, service: ChatCompletionService, maxBytes: Int) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBytes {
            throw tooLarge(maxBytes)
        }
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxBytes)
        } catch is NIOTooManyBytesError {
            throw tooLarge(maxBytes)
        }
        let parsed = try ChatCompletionRequest(body: Array(buffer: body))
        let prepared = try service.prepare(parsed)
        let cancellation = CancellationFlag()
        let events = try service.start(prepared, cancellation: cancellation)
        var headers: HTTPFields = [.init("X-EAH")!: prepared.eah ? "applied" : "off"]
        if parsed.stream {
            headers[.contentType] = "text/event-stream"
            headers[.cacheControl] = "no-cache"
            let includeUsage = parsed.includeUsage
            let body = ResponseBody { writer in
                func send(_ value: JSONValue) async throws {
                    do {
                        try await writer.write(ByteBuffer(string: "data: " + value.serialized + "\n\n"))
                    } catch {
                        cancellation.cancel()
                        throw error
                    }
                }
                try await send(service.chunk(prepared, delta: [("role", .string("assistant")), ("content", .string(""))]))
                for await event in events {
                    switch event {
                    case .text(let text):
                        try await send(service.chunk(prepared, delta: [("content", .string(text))]))
                    case .finished(let reason, let promptTokens, let completionTokens):
                        try await send(service.chunk(prepared, delta: [], finishReason: reason))
                        if includeUsage {
                            try await send(service.chunk(prepared, delta: nil,
                                                         usage: service.usage(promptTokens: promptTokens, completionTokens: completionTokens)))
                        }
                    case .failed(let error):
                        try await send(error.json)
                    }
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            }
            return Response(status: .ok, headers: headers, body: body)
        }
        var text = ""
        for await event in events {
            switch event {
            case .text(let piece): text += piece
            case .finished(let reason, let promptTokens, let completionTokens):
                return json(service.completion(prepared, text: text, reason: reason, promptTokens: promptTokens, completionTokens: completionTokens),
                            headers: headers)
            case .failed(let error): throw error
            }
        }
        throw APIError(status: 500, type: "server_error", message: "the generation ended without an answer")
    }

    static func tooLarge(_ maxBytes: Int) -> APIError {
        APIError(status: 413, type: "invalid_request_error", message: "the request body is larger than the server's limit of \(maxBytes) bytes",
                 code: "request_too_large")
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: value.serialized + "\n")))
    }
}

/// Turns every error below it into OpenAI's JSON error object: `APIError`s as they are,
/// Hummingbird's (an unknown route, a wrong method) with their status, anything else as a 500.
struct JSONErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            var headers: HTTPFields = [:]
            if let retryAfter = error.retryAfter { headers[.retryAfter] = String(retryAfter) }
            return ChatCompletionServer.json(error.json, status: HTTPResponse.Status(code: error.status), headers: headers)
        } catch let error as HTTPError {
            let status = error.status
            let apiError = APIError(status: status.code, type: status.code == 404 ? "not_found" : "invalid_request_error",
                                    message: error.body ?? "\(request.method) \(request.uri.path): \(status.reasonPhrase)")
            return ChatCompletionServer.json(apiError.json, status: status)
        } catch {
            let apiError = APIError(status: 500, type: "server_error", message: "\(error)")
            return ChatCompletionServer.json(apiError.json, status: .internalServerError)
        }
    }
}

/// The error a detached server task ended with.
private final class FailureBox: @unchecked Sendable {
    private(set) var error: (any Error)?
    func set(_ error: any Error) { self.error = error }
}

/// Why a server could not run.
public enum ServeProblem: CheckpointProblem, Equatable {
    /// Binding or serving failed (the port is taken, the address is not this machine's).
    case cannotServe(String)

    public var message: String {
        switch self {
        case .cannotServe(let reason): "cannot serve: \(reason)"
        }
    }

    public var fix: String? { "choose another --port (0 takes any free one) or a --host of this machine" }

    public var isUsageError: Bool { true }
}
