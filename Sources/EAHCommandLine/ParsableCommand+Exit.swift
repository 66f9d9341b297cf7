import ArgumentParser
import EAHCheckpoint
import EAHCore

extension ParsableCommand {
    /// The entry point of every eah executable: installs the output-cleanup signal handlers,
    /// checks the command line's names (`ArgumentCheck`), parses and runs the command, and maps
    /// errors to one line on stderr (`TOOL: message`) and an exit status: 0 success (and
    /// --help), 1 bad input, 2 bad usage (argument errors, `CheckpointError`s whose problem is a
    /// usage error).
    public static func runAndExit(toolName: String) -> Never {
        OutputCleanup.installSignalHandlers()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let problem = ArgumentCheck(Self.self, toolName: toolName).problem(arguments) {
            StandardStream.error.write(usageLine(problem, toolName: toolName))
            systemExit(2)
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
            systemExit(0)
        } catch let error as CheckpointError {
            StandardStream.error.write("\(toolName): \(error)\n")
            systemExit(error.isUsageError ? 2 : 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                systemExit(0)
            }
            StandardStream.error.write(usageLine(message(for: error), toolName: toolName))
            // Argument and validation errors are bad usage; anything else thrown by a run is bad input.
            systemExit(code == .validationFailure || error is ValidationError ? 2 : 1)
        }
    }

    /// `TOOL: message` on one line: ArgumentParser's multi-line messages are joined with "; ",
    /// and user-typed text in them is escaped.
    static func usageLine(_ message: String, toolName: String) -> String {
        let parts = message.split(whereSeparator: \.isNewline).map { String($0).trimmingBlanks }.filter { !$0.isEmpty }
        var text = parts.joined(separator: "; ")
        if text.hasPrefix("Error: ") { text.removeFirst(7) }
        return "\(toolName): \(TerminalText.line(text))\n"
    }
}
