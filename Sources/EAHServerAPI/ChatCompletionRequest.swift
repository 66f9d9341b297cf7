import EAHCheckpoint
import EAHFrontEnd

/// A `POST /v1/chat/completions` body, checked: every field the server reads has the type and
/// range OpenAI's API gives it; other fields are ignored, as OpenAI-compatible servers do.
public struct ChatCompletionRequest: Sendable, Equatable {
    /// An image part's reference: a data URL or a local file (a path or a `file://` URL).
    public enum ImageReference: Sendable, Equatable {
        case data(mediaType: String, base64: String)
        case file(String)
    }

    public var messages: [ChatMessage]
    /// The one image, when a message has an image part.
    public var image: ImageReference?
    public var stream = false
    public var includeUsage = false
    public var temperature: Float?
    public var topP: Float?
    public var maxTokens: Int?
    public var seed: UInt64?
    public var stop: [String] = []
    /// `"eah": false` runs this request without EAH; nil: as the server is configured.
    public var eah: Bool?

    /// Parses a request body (UTF-8 JSON text).
    public init(body: [UInt8]) throws(APIError) {
        let json: JSONValue
        do throws(JSONProblem) {
            json = try JSONParser.parse(body, maxDepth: 32)
        } catch {
            throw .invalid("the body is not valid JSON: \(error.message)", code: "invalid_json")
        }
        try self.init(json: json)
    }

    public init(json: JSONValue) throws(APIError) {
        guard case .object = json else { throw .invalid("the body must be a JSON object") }
        guard case .array(let items)? = json["messages"] else {
            throw .invalid(json["messages"] == nil ? "'messages' is required" : "'messages' must be an array", param: "messages")
        }
        guard !items.isEmpty else { throw .invalid("'messages' must hold at least one message", param: "messages") }
        messages = []
        for (index, item) in items.enumerated() {
            let (message, image) = try Self.message(item, param: "messages[\(index)]")
            if let image {
                guard self.image == nil else {
                    throw .invalid("the model takes one image per conversation; this one has more", param: "messages[\(index)].content")
                }
                self.image = image
            }
            messages.append(message)
        }
        if let model = json["model"], model != .null { guard case .string = model else { throw Self.wrongType("model", "a string") } }
        stream = try Self.bool(json, "stream") ?? false
        if let options = json["stream_options"], options != .null {
            guard case .object = options else { throw Self.wrongType("stream_options", "an object") }
            includeUsage = try Self.bool(options, "include_usage", param: "stream_options.include_usage") ?? false
        }
        temperature = try Self.number(json, "temperature", in: 0...2)
        if let topP = try Self.number(json, "top_p", in: 0...1) {
            guard topP > 0 else { throw .invalid("'top_p' must be greater than 0", param: "top_p") }
            self.topP = topP
        }
        for key in ["max_tokens", "max_completion_tokens"] {
            if let value = try Self.integer(json, key) {
                guard value >= 1 else { throw .invalid("'\(key)' must be at least 1", param: key) }
                maxTokens = value
            }
        }
        if let seed = try Self.integer(json, "seed") { self.seed = UInt64(bitPattern: Int64(seed)) }
        if let n = try Self.integer(json, "n"), n != 1 { throw .invalid("'n' must be 1: one choice per request", param: "n") }
        switch json["stop"] {
        case nil, .null?: break
        case .string(let text)?: stop = [text]
        case .array(let values)?:
            for value in values {
                guard case .string(let text) = value else { throw Self.wrongType("stop", "a string or an array of strings") }
                stop.append(text)
            }
            guard stop.count <= 4 else { throw .invalid("'stop' holds at most 4 sequences", param: "stop") }
        default: throw Self.wrongType("stop", "a string or an array of strings")
        }
        guard !stop.contains("") else { throw .invalid("'stop' sequences must not be empty", param: "stop") }
        eah = try Self.bool(json, "eah")
    }

    // MARK: Messages

    private static func message(_ item: JSONValue, param: String) throws(APIError) -> (ChatMessage, ImageReference?) {
        guard case .object = item else { throw wrongType(param, "an object") }
        guard case .string(let roleName)? = item["role"] else { throw wrongType(param + ".role", "a string") }
        let role: ChatMessage.Role
        switch roleName {
        case "system", "developer": role = .system
        case "user": role = .user
        case "assistant": role = .assistant
        default: throw .invalid("role '\(roleName)' is not supported (system, developer, user or assistant)", param: param + ".role")
        }
        var text = "", image: ImageReference?
        switch item["content"] {
        case .string(let value)?: text = value
        case .null? where role == .assistant: break
        case .array(let parts)?:
            var texts: [String] = []
            for (index, part) in parts.enumerated() {
                let partParam = "\(param).content[\(index)]"
                guard case .object = part, case .string(let type)? = part["type"] else { throw wrongType(partParam + ".type", "a string") }
                switch type {
                case "text":
                    guard case .string(let value)? = part["text"] else { throw wrongType(partParam + ".text", "a string") }
                    texts.append(value)
                case "image_url":
                    guard role == .user else { throw .invalid("only user messages may hold images", param: partParam) }
                    guard image == nil else { throw .invalid("the model takes one image per conversation; this one has more", param: partParam) }
                    image = try imageReference(part["image_url"], param: partParam + ".image_url")
                default:
                    throw .invalid("content part type '\(type)' is not supported (text or image_url)", param: partParam + ".type")
                }
            }
            text = texts.joined(separator: "\n")
        default:
            throw wrongType(param + ".content", "a string or an array of content parts")
        }
        return (ChatMessage(role: role, text: text, hasImage: image != nil), image)
    }

    private static func imageReference(_ value: JSONValue?, param: String) throws(APIError) -> ImageReference {
        var url: String
        switch value {
        case .string(let text)?: url = text
        case .object?:
            guard case .string(let text)? = value?["url"] else { throw wrongType(param + ".url", "a string") }
            url = text
        default: throw wrongType(param, "an object with a 'url'")
        }
        if url.hasPrefix("data:") {
            guard let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else {
                throw .invalid("a data URL must be data:<media type>;base64,<data>", param: param + ".url", code: "invalid_image")
            }
            let mediaType = String(url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(7))
            return .data(mediaType: mediaType, base64: String(url[url.index(after: comma)...]))
        }
        if url.hasPrefix("file://") { url.removeFirst(7) }
        guard url.hasPrefix("/") else {
            throw .invalid("image URLs must be data URLs or absolute local paths (the server fetches nothing from the network)",
                           param: param + ".url", code: "invalid_image")
        }
        return .file(url)
    }

    // MARK: Typed fields

    static func wrongType(_ param: String, _ expected: String) -> APIError {
        .invalid("'\(param)' must be \(expected)", param: param)
    }

    private static func bool(_ object: JSONValue, _ key: String, param: String? = nil) throws(APIError) -> Bool? {
        switch object[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        default: throw wrongType(param ?? key, "true or false")
        }
    }

    private static func integer(_ object: JSONValue, _ key: String) throws(APIError) -> Int? {
        switch object[key] {
        case nil, .null?: return nil
        case .integer(let value)?: return value
        case .number(let value)? where value == value.rounded() && abs(value) < 9e15: return Int(value)
        default: throw wrongType(key, "an integer")
        }
    }

    private static func number(_ object: JSONValue, _ key: String, in range: ClosedRange<Double>) throws(APIError) -> Float? {
        let value: Double
        switch object[key] {
        case nil, .null?: return nil
        case .integer(let integer)?: value = Double(integer)
        case .number(let number)?: value = number
        default: throw wrongType(key, "a number")
        }
        guard range.contains(value) else { throw .invalid("'\(key)' must be between \(range.lowerBound) and \(range.upperBound)", param: key) }
        return Float(value)
    }
}
