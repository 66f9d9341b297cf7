import EAHCheckpoint

/// Why a `preprocessor_config.json` or an mmproj GGUF cannot configure `CLIPPreprocessor`.
public enum PreprocessorProblem: CheckpointProblem, Equatable {
    /// The JSON file is not an object.
    case notAnObject
    /// `key` holds a value of the wrong type or out of range; `expected` says what it needs.
    case invalidValue(key: String, expected: String)
    /// `key` asks for something the preprocessor does not implement.
    case unsupported(key: String, detail: String)
    /// A key the configuration cannot do without is absent.
    case missingKey(String)

    public var message: String {
        switch self {
        case .notAnObject: "preprocessor configuration is not a JSON object"
        case .invalidValue(let key, let expected): "'\(key)' must be \(expected)"
        case .unsupported(let key, let detail): "'\(key)': \(detail) is not supported"
        case .missingKey(let key): "'\(key)' is missing"
        }
    }
}
