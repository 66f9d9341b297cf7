import ArgumentParser
import EAHCommandLine
import EAHCheckpoint
import EAHRuntime
#if canImport(Glibc)
import Glibc
#endif


/// `eah-convert convert SRC -o DST [--to safetensors|gguf] [--dtype ...] [--force]`.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint to safetensors or GGUF, keeping tensor names.",
        discussion: """
            A model folder converted to a name without .safetensors or .gguf becomes a runnable folder: the \
            weights as model.safetensors (sharded past 5 GB) with the config, tokenizer, processor, template, \
            license and README files beside them.
            """
    )

    @Argument(help: "A checkpoint file, a model folder or an index .json file.")
    var source: String

    @Option(name: .shortAndLong, help: "The output file (or folder, for a model folder).")
    var output: String

    @Option(help: "Output format; default: from the output's extension (.gguf → gguf), else safetensors.")
    var to: ConversionOptions.OutputFormat?

    @Option(help: "Element type of floating-point tensors: keep, f32, f16, bf16, q8_0 or q4_0 (GGUF only).")
    var dtype: ConversionOptions.TargetDType = .keep

    @Flag(help: "Overwrite the output if it exists.")
    var force = false

    @OptionGroup var display: OutputOptions

    /// Whether the output is a model folder: a folder source and an output named without a weight-file extension.
    var writesFolder: Bool {
        var status = stat()
        let lowered = output.lowercased()
        return stat(source, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR && !lowered.hasSuffix(".safetensors") && !lowered.hasSuffix(".gguf")
    }

    func validate() throws {
        if writesFolder, to == .gguf {
            throw ValidationError("a model folder converts into a folder of safetensors; for GGUF name the output file .gguf")
        }
    }

    func run() throws {
        display.apply()
        if writesFolder {
            let progress = ProgressBar(label: "converting")
            let files = try ModelFolderConverter.convert(source, to: output, options: ConversionOptions(format: .safetensors, dtype: dtype, overwrite: force),
                                                         progress: { progress.update(done: $0, total: $1) })
            progress.finish()
            print("wrote \(output): \(files.count) files (safetensors, dtype \(dtype.rawValue)): \(files.joined(separator: ", "))")
            return
        }
        let format = to ?? (output.hasSuffix(".gguf") ? .gguf : .safetensors)
        let reader = try Checkpoint.open(source)
        let progress = ProgressBar(label: "converting")
        let summary = try Converter.convert(
            reader, to: output, options: ConversionOptions(format: format, dtype: dtype, overwrite: force),
            progress: { progress.update(done: $0, total: $1) })
        progress.finish()
        print("wrote \(summary.outputPath): \(summary.tensorCount) tensors, \(summary.bytesWritten) bytes (\(format.rawValue), dtype \(dtype.rawValue))")
    }
}
