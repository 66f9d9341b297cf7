import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import EAHModel

/// Writes a model in llama.cpp's layout: the text-model GGUF (with the tokenizer) and the mmproj
/// GGUF, as llama.cpp's converters write them (`LlamaCppExport`, built by the model's family).
public enum LlamaCppWriter {
    /// `mmproj-NAME.gguf` beside `NAME.gguf`, as llama.cpp's own files are named.
    public static func mmprojPath(beside output: String) -> String {
        guard let slash = output.lastIndex(of: "/") else { return "mmproj-" + output }
        return String(output[...slash]) + "mmproj-" + output[output.index(after: slash)...]
    }

    /// The export of `model` loaded from `path`, or a `notLlamaCppLayout` error saying which part
    /// cannot be written (a family without an export is refused by name).
    public static func export(_ model: any VisionLanguageModel, path: String, dtype: ConversionOptions.TargetDType) throws(CheckpointError) -> LlamaCppExport {
        let folder = ModelFiles.folder(of: path)
        func refuse(_ reason: String) -> CheckpointError { CheckpointError(path: path, problem: ConversionProblem.notLlamaCppLayout(reason)) }
        guard case .folder = model.companions.tokenizer, case .folder(let imageFolder) = model.companions.preprocessor else {
            throw refuse("the model is already a llama.cpp GGUF (convert it with --keep-names to change its types)")
        }
        guard let exportable = model as? any LlamaCppExportable else { throw refuse("the \(model.family) family has no llama.cpp export yet") }
        do throws(LlamaCppExportRefusal) {
            try exportable.checkLlamaCppExport(folder: folder, dtype: dtype)
        } catch {
            throw refuse(error.reason)
        }
        let preprocessor = try ModelFiles.preprocessorConfig(in: imageFolder)
        do throws(LlamaCppExportRefusal) {
            return try exportable.llamaCppExport(folder: folder, imageMean: preprocessor.imageMean.map { Float($0) },
                                                 imageStd: preprocessor.imageStd.map { Float($0) }, dtype: dtype)
        } catch {
            throw refuse(error.reason)
        }
    }

    /// Writes the text model to `modelPath` and (unless `mmprojPath` is nil) the mmproj.
    ///
    /// `rewrites` (keyed by source tensor name) change a text tensor's bytes in its output type
    /// before the q/k permutation (a bake); `onlyText` restricts the text model to those source
    /// names (the original rows of a bake), with the same metadata.
    @discardableResult
    public static func write(
        _ export: LlamaCppExport, model: any VisionLanguageModel, path: String, modelPath: String, mmprojPath: String?,
        dtype: ConversionOptions.TargetDType, overwrite: Bool, rewrites: [String: Converter.Rewrite] = [:], onlyText: Set<String>? = nil,
        progress: ((Int, Int) -> Void)? = nil
    ) throws(CheckpointError) -> [ConversionSummary] {
        guard case .folder(let tokenizerFolder) = model.companions.tokenizer else {
            throw CheckpointError(path: path, problem: ConversionProblem.notLlamaCppLayout("the tokenizer is not in a model folder"))
        }
        let tokenizer = try LlamaCppTokenizerExport.metadata(folder: tokenizerFolder, vocabSize: model.shape.vocabSize)
        let mmprojF32 = dtype == .f32
        func outputs(_ tensors: [LlamaCppExport.Tensor]) -> [Converter.OutputTensor] {
            tensors.map { tensor in
                let type = LlamaCppExport.outputType(of: tensor, dtype: dtype, mmprojF32: mmprojF32)
                let rowBytes = type.byteCount(elements: tensor.shape.count > 1 ? tensor.shape.dropFirst().reduce(1, *) : 1) ?? 0
                let bake = rewrites[tensor.source.name]
                var rewrite: Converter.Rewrite? = bake
                if let heads = tensor.permuteHeads {
                    rewrite = { bytes in
                        bake?(&bytes)
                        LlamaCppExport.permuteRows(&bytes, heads: heads, rowBytes: rowBytes)
                    }
                }
                return Converter.OutputTensor(plan: TensorPlan(name: tensor.name, dtype: type, shape: tensor.shape),
                                              source: tensor.source, reader: tensor.reader, rewrite: rewrite)
            }
        }
        var text = outputs(export.text)
        if let onlyText { text = text.filter { onlyText.contains($0.source.name) } }
        // The pair is written or neither: an existing file is refused before anything is written,
        // and a text model written fresh goes again when its mmproj fails.
        let existed = ModelFiles.exists(modelPath)
        if !overwrite {
            for path in [modelPath] + (mmprojPath.map { [$0] } ?? []) where ModelFiles.exists(path) {
                throw CheckpointError(path: path, problem: FileProblem.outputExists)
            }
        }
        var summaries = [try Converter.write(text, to: modelPath, format: .gguf, metadata: export.textMetadata + tokenizer,
                                             overwrite: overwrite, progress: progress)]
        if let mmprojPath {
            do {
                summaries.append(try Converter.write(outputs(export.mmproj), to: mmprojPath, format: .gguf, metadata: export.mmprojMetadata,
                                                     overwrite: overwrite))
            } catch {
                if !existed { unlink(modelPath) }
                throw error
            }
        }
        return summaries
    }
}
