import ArgumentParser
import EAH
import EAHCheckpoint
import EAHCommandLine

/// `eah-convert`: inspect and convert checkpoints (and, later, calibrate EAH bundles).
///
/// Exit status: 0 on success, 1 for bad input (a malformed or unsupported file), 2 for bad
/// usage (wrong arguments, an existing output without --force).
@main
struct EAHConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eah-convert",
        abstract: "Read, inspect and convert vision-language model checkpoints (safetensors, PyTorch, GGUF).",
        version: EAHVersion.current,
        subcommands: [BundleCommand.self, InspectCommand.self, ConvertCommand.self, TokenizeCommand.self, TemplateCommand.self, PreprocessCommand.self,
                      CalibrateCommand.self, PatchCommand.self, UnpatchCommand.self, EvalCommand.self],
        defaultSubcommand: BundleCommand.self
    )

    static func main() {
        runAndExit(toolName: "eah-convert")
    }
}
