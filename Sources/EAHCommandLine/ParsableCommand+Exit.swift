import ArgumentParser
import EAHCheckpoint
#if canImport(Glibc)
import Glibc
#endif

extension ParsableCommand {
    /// The entry point of every eah executable: installs the output-cleanup signal handlers,
    /// parses and runs the command, and maps errors to one line on stderr and an exit status:
    /// 0 success (and --help), 1 bad input, 2 bad usage (argument errors, `CheckpointError`s
    /// whose problem is a usage error).
    public static func runAndExit(toolName: String) -> Never {
        OutputCleanup.installSignalHandlers()
        do {
            var command = try parseAsRoot()
            try command.run()
            Glibc.exit(0)
        } catch let error as CheckpointError {
            StandardStream.error.write("\(toolName): \(error)\n")
            Glibc.exit(error.isUsageError ? 2 : 1)
        } catch {
            if exitCode(for: error) == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            StandardStream.error.write(fullMessage(for: error) + "\n")
            Glibc.exit(2)
        }
    }
}
