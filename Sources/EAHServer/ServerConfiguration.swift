import EAHModel

/// Where a server listens, how much it accepts, and what a request gets when it says nothing.
public struct ServerConfiguration: Sendable {
    /// The address to bind: loopback unless told otherwise.
    public var host = "127.0.0.1"
    /// 0 picks a free port (the one bound is reported when the server starts).
    public var port = 8080
    /// Requests that may wait behind the running one; more get 503 with Retry-After.
    public var queueCapacity = 8
    /// The largest request body (a data-URL image included); larger gets 413.
    public var maxRequestBytes = 32 << 20
    /// The largest encoded image (decoded from a data URL or read from a file).
    public var maxImageBytes = 20 << 20
    /// The largest decoded image, in pixels.
    public var maxImagePixels = 8192 * 8192
    /// Tokens a request may generate when it gives no `max_tokens`.
    public var maxTokens = 256
    /// Sampling when a request gives no `temperature`, `top_p` or `seed`.
    public var sampling = SamplingParameters()

    public init() {}
}
