import EAHCheckpoint

/// The `tokenizer.json` component factory: each registry maps a component's JSON `type` to the
/// function that builds it. Supporting a new component is one conforming type and one entry.
enum TokenizerJSONComponents {
    typealias Builder<Component> = @Sendable (_ json: JSONValue, _ path: String) throws(TokenizerProblem) -> Component

    static let normalizers: [String: Builder<any TextNormalizer>] = [
        "Sequence": { json, path throws(TokenizerProblem) in
            NormalizerSequence(steps: try list(json, key: "normalizers", path: path, normalizer))
        },
        "Prepend": { json, path throws(TokenizerProblem) in
            guard let prefix = json["prepend"]?.stringValue else { throw .malformedJSON(path: path + ".prepend") }
            return PrependNormalizer(prefix)
        },
        "Replace": { json, path throws(TokenizerProblem) in
            let (pattern, content) = try replacement(json, path: path)
            return ReplaceNormalizer(pattern: pattern, content: content)
        },
        "NFC": { _, _ in NFCNormalizer() },
    ]

    static let preTokenizers: [String: Builder<any PreTokenizer>] = [
        "Sequence": { json, path throws(TokenizerProblem) in
            PreTokenizerSequence(steps: try list(json, key: "pretokenizers", path: path, preTokenizer))
        },
        "Metaspace": { json, path throws(TokenizerProblem) in
            let replacement = try metaspaceReplacement(json, path: path)
            let scheme: MetaspacePreTokenizer.PrependScheme
            if let name = json["prepend_scheme"]?.stringValue {
                guard let parsed = MetaspacePreTokenizer.PrependScheme(rawValue: name) else {
                    throw .malformedJSON(path: path + ".prepend_scheme")
                }
                scheme = parsed
            } else {
                scheme = json["add_prefix_space"] == .bool(false) ? .never : .always
            }
            return MetaspacePreTokenizer(replacement: replacement, prependScheme: scheme, split: json["split"] != .bool(false))
        },
        "ByteLevel": { json, _ in
            ByteLevelPreTokenizer(addPrefixSpace: json["add_prefix_space"] == .bool(true), useRegex: json["use_regex"] != .bool(false))
        },
        "Split": { json, path throws(TokenizerProblem) in
            guard let pattern = json["pattern"] else { throw .malformedJSON(path: path + ".pattern") }
            let split: any SplitPattern
            if let regex = pattern["Regex"]?.stringValue {
                guard let known = KnownSplitPatterns.byRegex[regex] else {
                    throw .unsupportedComponent("the Split regex \(JSONValue.string(regex).serialized) in \(path)")
                }
                split = known
            } else if let literal = pattern["String"]?.stringValue {
                split = LiteralPattern(literal: Array(literal.unicodeScalars))
            } else {
                throw .malformedJSON(path: path + ".pattern")
            }
            let behaviorName = json["behavior"]?.stringValue ?? "Isolated"
            guard let behavior = SplitPreTokenizer.Behavior(rawValue: behaviorName) else {
                throw .unsupportedComponent("Split behavior \(behaviorName)")
            }
            return SplitPreTokenizer(pattern: split, behavior: behavior, invert: json["invert"] == .bool(true))
        },
    ]

    static let decoders: [String: Builder<any TokenDecoder>] = [
        "Sequence": { json, path throws(TokenizerProblem) in
            DecoderSequence(steps: try list(json, key: "decoders", path: path, decoder))
        },
        "Replace": { json, path throws(TokenizerProblem) in
            let (pattern, content) = try replacement(json, path: path)
            return ReplaceDecoder(pattern: pattern, content: content)
        },
        "ByteFallback": { _, _ in ByteFallbackDecoder() },
        "Fuse": { _, _ in FuseDecoder() },
        "ByteLevel": { _, _ in ByteLevelDecoder() },
        "Strip": { json, path throws(TokenizerProblem) in
            guard let text = json["content"]?.stringValue, text.unicodeScalars.count == 1, let content = text.unicodeScalars.first,
                  case .integer(let start) = json["start"], case .integer(let stop) = json["stop"], start >= 0, stop >= 0
            else { throw .malformedJSON(path: path) }
            return StripDecoder(content: content, start: start, stop: stop)
        },
        "Metaspace": { json, path throws(TokenizerProblem) in
            let scheme = json["prepend_scheme"]?.stringValue ?? (json["add_prefix_space"] == .bool(false) ? "never" : "always")
            return MetaspaceDecoder(replacement: try metaspaceReplacement(json, path: path), stripFirst: scheme != "never")
        },
    ]

    /// Post-processors, as the ids they put before and after a single sequence.
    static let postProcessors: [String: Builder<(prefix: [Int], suffix: [Int])>] = [
        "TemplateProcessing": { json, path throws(TokenizerProblem) in try template(json, path: path) },
        // ByteLevel's post-processing only trims offsets; eah has no offsets.
        "ByteLevel": { _, _ in ([], []) },
        "Sequence": { json, path throws(TokenizerProblem) in
            guard case .array(let items) = json["processors"] else { throw .malformedJSON(path: path + ".processors") }
            var prefix: [Int] = [], suffix: [Int] = []
            for (index, item) in items.enumerated() {
                let (before, after) = try postProcessor(item, path: path + ".processors[\(index)]")
                prefix = before + prefix
                suffix += after
            }
            return (prefix, suffix)
        },
    ]

    // MARK: Building

    static func normalizer(_ json: JSONValue, path: String) throws(TokenizerProblem) -> any TextNormalizer {
        try build(json, path: path, registry: normalizers, kind: "normalizer")
    }

    static func preTokenizer(_ json: JSONValue, path: String) throws(TokenizerProblem) -> any PreTokenizer {
        try build(json, path: path, registry: preTokenizers, kind: "pre-tokenizer")
    }

    static func decoder(_ json: JSONValue, path: String) throws(TokenizerProblem) -> any TokenDecoder {
        try build(json, path: path, registry: decoders, kind: "decoder")
    }

    static func postProcessor(_ json: JSONValue?, path: String) throws(TokenizerProblem) -> (prefix: [Int], suffix: [Int]) {
        guard let json, json != .null else { return ([], []) }
        return try build(json, path: path, registry: postProcessors, kind: "post-processor")
    }

    /// The component at `json` when present and not null.
    static func optional<Component>(_ json: JSONValue?, path: String,
                                    _ builder: (JSONValue, String) throws(TokenizerProblem) -> Component) throws(TokenizerProblem) -> Component? {
        guard let json, json != .null else { return nil }
        return try builder(json, path)
    }

    private static func build<Component>(_ json: JSONValue, path: String, registry: [String: Builder<Component>],
                                         kind: String) throws(TokenizerProblem) -> Component {
        guard case .string(let type) = json["type"] else { throw .malformedJSON(path: path + ".type") }
        guard let builder = registry[type] else { throw .unsupportedComponent("\(kind) \(type)") }
        return try builder(json, path)
    }

    private static func list<Component>(_ json: JSONValue, key: String, path: String,
                                        _ builder: (JSONValue, String) throws(TokenizerProblem) -> Component) throws(TokenizerProblem) -> [Component] {
        guard case .array(let items) = json[key] else { throw .malformedJSON(path: path + "." + key) }
        var components: [Component] = []
        for (index, item) in items.enumerated() { components.append(try builder(item, "\(path).\(key)[\(index)]")) }
        return components
    }

    private static func replacement(_ json: JSONValue, path: String) throws(TokenizerProblem) -> (String, String) {
        guard let pattern = json["pattern"] else { throw .malformedJSON(path: path + ".pattern") }
        if pattern["Regex"] != nil { throw .unsupportedComponent("a Regex pattern in \(path)") }
        guard let literal = pattern["String"]?.stringValue else { throw .malformedJSON(path: path + ".pattern.String") }
        guard let content = json["content"]?.stringValue else { throw .malformedJSON(path: path + ".content") }
        return (literal, content)
    }

    private static func metaspaceReplacement(_ json: JSONValue, path: String) throws(TokenizerProblem) -> Unicode.Scalar {
        let text = json["replacement"]?.stringValue ?? "\u{2581}"
        guard text.unicodeScalars.count == 1, let replacement = text.unicodeScalars.first else {
            throw .malformedJSON(path: path + ".replacement")
        }
        return replacement
    }

    /// The ids TemplateProcessing's `single` template puts before and after the sequence.
    private static func template(_ json: JSONValue, path: String) throws(TokenizerProblem) -> ([Int], [Int]) {
        guard case .array(let items) = json["single"] else { throw .malformedJSON(path: path + ".single") }
        var prefix: [Int] = []
        var suffix: [Int] = []
        var seenSequence = false
        for (index, item) in items.enumerated() {
            if item["Sequence"] != nil { seenSequence = true; continue }
            guard let name = item["SpecialToken"]?["id"]?.stringValue,
                  case .array(let idValues) = json["special_tokens"]?[name]?["ids"]
            else { throw .malformedJSON(path: "\(path).single[\(index)]") }
            for idValue in idValues {
                guard case .integer(let id) = idValue, id >= 0 else { throw .malformedJSON(path: "\(path).special_tokens.\(name)") }
                if seenSequence { suffix.append(id) } else { prefix.append(id) }
            }
        }
        return (prefix, suffix)
    }
}
