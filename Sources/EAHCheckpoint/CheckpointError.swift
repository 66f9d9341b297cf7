/// Something wrong with one file: its path, the problem, and (through the problem) how to fix it.
///
/// Every public entry point of this module throws this type. `description` is the one line the
/// CLI prints: `PATH: problem; fix`.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    /// The file or folder the problem is about.
    public let path: String
    /// What is wrong.
    public let problem: any CheckpointProblem

    public init(path: String, problem: any CheckpointProblem) {
        self.path = PartialOutputFolders.shown(path)
        self.problem = problem
    }

    /// Whether the user asked for something impossible (exit status 2) rather than handing
    /// over a bad file (exit status 1).
    public var isUsageError: Bool { problem.isUsageError }

    /// Paths and messages quote bytes from files (names, keys, entries): both go through
    /// `TerminalText.line`, so the line holds no control character and stays short.
    public var description: String {
        var line = "\(TerminalText.line(path, limit: 300)): \(TerminalText.line(problem.message))"
        if let fix = problem.fix { line += "; \(TerminalText.line(fix))" }
        return line
    }
}

/// A typed, format-specific description of what is wrong with a file.
///
/// Each format has a small enum conforming to this protocol; tests match its cases exactly.
public protocol CheckpointProblem: Error, Sendable {
    /// What is wrong, in words a user understands, without the file name.
    var message: String { get }
    /// How to fix it, when there is something the user can do.
    var fix: String? { get }
    /// True when the problem is with the request (exit status 2), not with the input.
    var isUsageError: Bool { get }
}

extension CheckpointProblem {
    public var fix: String? { nil }
    public var isUsageError: Bool { false }
}

extension Error {
    /// Wraps a thrown problem into a `CheckpointError` about `path`; passes a `CheckpointError`
    /// through unchanged.
    func attributed(to path: String) -> CheckpointError {
        if let error = self as? CheckpointError { return error }
        if let problem = self as? any CheckpointProblem { return CheckpointError(path: path, problem: problem) }
        return CheckpointError(path: path, problem: FileProblem.system(String(describing: self)))
    }
}
