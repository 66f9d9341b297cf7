import ArgumentParser
import EAHCommandLine
import EAHCheckpoint


/// `eah-convert convert SRC -o DST [--to safetensors|gguf] [--dtype ...] [--force]`.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint to safetensors or GGUF, keeping tensor names."
    )

    @Argument(help: "A checkpoint file, a model folder or an index .json file.")
    var source: String

    @Option(name: .shortAndLong, help: "The output file.")
    var output: String

    @Option(help: "Output format; default: from the output's extension (.gguf → gguf), else safetensors.")
    var to: ConversionOptions.OutputFormat?

    @Option(help: "Element type of floating-point tensors: keep, f32, f16, bf16, q8_0 or q4_0 (GGUF only).")
    var dtype: ConversionOptions.TargetDType = .keep

    @Flag(help: "Overwrite the output if it exists.")
    var force = false

    func run() throws {
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
