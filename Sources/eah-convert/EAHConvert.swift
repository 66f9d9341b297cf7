import ArgumentParser
import EAHCheckpoint
#if canImport(Glibc)
import Glibc
#endif

/// `eah-convert`: inspect and convert checkpoints (and, later, calibrate EAH bundles).
///
/// Exit status: 0 on success, 1 for bad input (a malformed or unsupported file), 2 for bad
/// usage (wrong arguments, an existing output without --force).
@main
struct EAHConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eah-convert",
        abstract: "Read, inspect and convert vision-language model checkpoints (safetensors, PyTorch, GGUF).",
        subcommands: [InspectCommand.self, ConvertCommand.self]
    )

    static func main() {
        OutputCleanup.installSignalHandlers()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CheckpointError {
            StandardError.write("eah-convert: \(error)\n")
            Glibc.exit(error.isUsageError ? 2 : 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            StandardError.write(fullMessage(for: error) + "\n")
            Glibc.exit(2)
        }
    }
}
