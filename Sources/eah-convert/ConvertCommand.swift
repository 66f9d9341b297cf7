import ArgumentParser
import EAHCommandLine
import EAHCheckpoint
import EAHModel
import EAHRuntime


/// `eah-convert convert SRC -o DST [--to safetensors|gguf] [--dtype ...] [--keep-names] [--force]`.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint to safetensors, or a model to llama.cpp's GGUF layout.",
        discussion: """
        --to gguf writes llama.cpp's layout, as its own converters do: NAME.gguf (text model with \
        hyperparameters and tokenizer) and mmproj-NAME.gguf beside it, which stock llama.cpp runs. \
        A source llama.cpp's layout cannot express is refused; --keep-names writes a GGUF that keeps \
        the source's tensor names instead (for round trips; llama.cpp cannot run it).
        """
    )

    @Argument(help: "A checkpoint file, a model folder or an index .json file.")
    var source: String

    @Option(name: .shortAndLong, help: "The output file (for llama.cpp's layout, the text model; the mmproj goes beside it as mmproj-NAME).")
    var output: String

    @Option(help: "Output format; default: from the output's extension (.gguf → gguf), else safetensors.")
    var to: ConversionOptions.OutputFormat?

    @Option(help: "Element type of floating-point tensors: keep, f32, f16, bf16, q8_0 or q4_0 (GGUF only; llama.cpp's layout: up to q8_0).")
    var dtype: ConversionOptions.TargetDType = .keep

    @Flag(help: "GGUF output keeps the source's tensor names and metadata instead of llama.cpp's layout.")
    var keepNames = false

    @Option(help: "The CLIP vision tower folder of an original LLaVA release (llama.cpp's layout).")
    var visionTower: String?

    @Flag(help: "Overwrite the output if it exists.")
    var force = false

    func run() throws {
        let format = to ?? (output.hasSuffix(".gguf") ? .gguf : .safetensors)
        let reader = try Checkpoint.open(source)
        let progress = ProgressBar(label: "converting")
        let options = ConversionOptions(format: format, dtype: dtype, overwrite: force)
        let layout = WeightLayout.detect(reader)
        guard format == .gguf, !keepNames, layout != .llamaCppText, layout != .llamaCppMMProj else {
            let summary = try Converter.convert(reader, to: output, options: options, progress: { progress.update(done: $0, total: $1) })
            progress.finish()
            print("wrote \(summary.outputPath): \(summary.tensorCount) tensors, \(summary.bytesWritten) bytes (\(format.rawValue), dtype \(dtype.rawValue))")
            return
        }
        let weights: LlavaWeights
        do {
            weights = try ModelFamilies.load(ModelRequest(model: source, visionTower: visionTower))
        } catch {
            // Not a model of a family with an export: say so in llama.cpp's terms.
            if let problem = error.problem as? ModelProblem, case .unsupportedLayout(let reason) = problem {
                throw CheckpointError(path: error.path, problem: ConversionProblem.notLlamaCppLayout(reason))
            }
            throw error
        }
        let export = try LlamaCppWriter.export(weights, model: source, dtype: dtype)
        let mmproj = LlamaCppWriter.mmprojPath(beside: output)
        let summaries = try LlamaCppWriter.write(export, weights: weights, model: source, modelPath: output, mmprojPath: mmproj,
                                                 dtype: dtype, overwrite: force, progress: { progress.update(done: $0, total: $1) })
        progress.finish()
        for summary in summaries {
            print("wrote \(summary.outputPath): \(summary.tensorCount) tensors, \(summary.bytesWritten) bytes (gguf, llama.cpp layout, dtype \(dtype.rawValue))")
        }
    }
}
