/// Why a line of a JSON Lines input (one JSON value per line) cannot be used.
public enum JSONLinesProblem: CheckpointProblem, Equatable {
    case malformedLine(line: Int, reason: String)
    case notAString(line: Int)

    public var message: String {
        switch self {
        case .malformedLine(let line, let reason): "line \(line) is not valid JSON: \(reason)"
        case .notAString(let line): "line \(line) is not a JSON string"
        }
    }

    public var fix: String? { "write one JSON string per line, e.g. \"a photo of a cat\"" }
}
