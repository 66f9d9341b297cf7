import ArgumentParser
import EAHCommandLine
import EAHCheckpoint
import EAHModel
import EAHRuntime
import EAHCore


/// `eah-convert convert SRC -o DST [--to safetensors|gguf] [--dtype ...] [--keep-names] [--force]`.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a checkpoint to safetensors, a runnable model folder, or llama.cpp's GGUF layout.",
        discussion: """
        --to gguf writes llama.cpp's layout, as its own converters do: NAME.gguf (text model with \
        hyperparameters and tokenizer) and mmproj-NAME.gguf beside it, which stock llama.cpp runs. \
        A source llama.cpp's layout cannot express is refused; --keep-names writes a GGUF that keeps \
        the source's tensor names instead (for round trips; llama.cpp cannot run it). A model folder \
        converted to a name without .safetensors or .gguf becomes a runnable folder: the weights as \
        model.safetensors (sharded past 5 GB) with the config, tokenizer, processor, template, license \
        and README files beside them.
        """
    )

    @Argument(help: "A checkpoint file, a model folder or an index .json file.")
    var source: String

    @Option(name: .shortAndLong, help: "The output file or folder (for llama.cpp's layout, the text model; the mmproj goes beside it as mmproj-NAME).")
    var output: String

    @Option(help: "Output format; default: from the output's extension (.gguf → gguf), else safetensors.")
    var to: ConversionOptions.OutputFormat?

    @Option(help: "Element type of floating-point tensors: keep, f32, f16, bf16, q8_0 or q4_0 (GGUF only; llama.cpp's layout: up to q8_0).")
    var dtype: ConversionOptions.TargetDType = .keep

    @Flag(help: "GGUF output keeps the source's tensor names and metadata instead of llama.cpp's layout.")
    var keepNames = false

    @Option(help: "The CLIP vision tower folder of an original LLaVA release (llama.cpp's layout).")
    var visionTower: String?

    @Option(help: ArgumentHelp("llama.cpp's layout: the byte-level BPE pre-tokenizer to declare (qwen2, llama-bpe, …) when llama.cpp's hash does not know the tokenizer.", valueName: "name"))
    var tokenizerPre: String?

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
        let options = ConversionOptions(format: format, dtype: dtype, overwrite: force)
        let layout = WeightLayout.detect(reader)
        guard format == .gguf, !keepNames, layout != .llamaCppText, layout != .llamaCppMMProj else {
            let summary = try Converter.convert(reader, to: output, options: options, progress: { progress.update(done: $0, total: $1) })
            progress.finish()
            print("wrote \(summary.outputPath): \(summary.tensorCount) tensors, \(summary.bytesWritten) bytes (\(format.rawValue), dtype \(dtype.rawValue))")
            return
        }
        let model: any VisionLanguageModel
        do {
            model = try ModelFamilies.load(ModelRequest(model: source, visionTower: visionTower))
        } catch {
            // Not a model of a family with an export: say so in llama.cpp's terms.
            if let problem = error.problem as? ModelProblem, case .unsupportedLayout(let reason) = problem {
                throw CheckpointError(path: error.path, problem: ConversionProblem.notLlamaCppLayout(reason))
            }
            throw error
        }
        var export = try LlamaCppWriter.export(model, path: source, dtype: dtype)
        export.tokenizerPre = tokenizerPre
        for warning in export.warnings { StandardStream.error.write("eah-convert: warning: \(TerminalText.line(warning))\n") }
        let mmproj = LlamaCppWriter.mmprojPath(beside: output)
        let summaries = try LlamaCppWriter.write(export, model: model, path: source, modelPath: output, mmprojPath: mmproj,
                                                 dtype: dtype, overwrite: force, progress: { progress.update(done: $0, total: $1) })
        progress.finish()
        for summary in summaries {
            print("wrote \(summary.outputPath): \(summary.tensorCount) tensors, \(summary.bytesWritten) bytes (gguf, llama.cpp layout, dtype \(dtype.rawValue))")
        }
    }
}
