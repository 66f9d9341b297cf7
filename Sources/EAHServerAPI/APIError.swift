import EAHCheckpoint

/// A request the server refuses, as OpenAI's API reports it:
/// `{"error": {"message", "type", "param", "code"}}` with an HTTP status.
public struct APIError: Error, Sendable, Equatable {
    public let status: Int
    public let type: String
    public let message: String
    /// The request field at fault, when one is.
    public let param: String?
    public let code: String?
    /// Seconds a client should wait before retrying (503 when the queue is full).
    public let retryAfter: Int?

    public init(status: Int, type: String, message: String, param: String? = nil, code: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    /// A 400 about the request's content.
    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, type: "invalid_request_error", message: message, param: param, code: code)
    }

    /// The body's JSON: one object holding `error`.
    public var json: JSONValue {
        .object([("error", .object([
            ("message", .string(message)), ("type", .string(type)),
            ("param", param.map(JSONValue.string) ?? .null), ("code", code.map(JSONValue.string) ?? .null),
        ]))])
    }
}
