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
        let statistics = try exportable.llamaCppImageStatistics(folder: imageFolder)
        do throws(LlamaCppExportRefusal) {
            return try exportable.llamaCppExport(folder: folder, imageMean: statistics.mean, imageStd: statistics.std, dtype: dtype)
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
        let tokenizer = try LlamaCppTokenizerExport.metadata(folder: tokenizerFolder, vocabSize: model.shape.vocabSize, pre: export.tokenizerPre)
        let mmprojF32 = dtype == .f32
        func outputs(_ tensors: [LlamaCppExport.Tensor]) -> [Converter.OutputTensor] {
            tensors.map { tensor in
                let type = LlamaCppExport.outputType(of: tensor, dtype: dtype, mmprojF32: mmprojF32)
                let rowBytes = type.byteCount(elements: tensor.shape.count > 1 ? tensor.shape.dropFirst().reduce(1, *) : 1) ?? 0
                let bake = rewrites[tensor.source.name]
                var rewrite: Converter.Rewrite? = bake
                if tensor.permuteHeads != nil || tensor.part != nil || (tensor.addOne && type == .f32) {
                    let part = tensor.part, heads = tensor.permuteHeads
                    let innerBytes = part.flatMap { type.byteCount(elements: $0.innerElements) } ?? 0
                    let addOne = tensor.addOne && type == .f32, source = tensor.source.dtype
                    rewrite = { bytes in
                        bake?(&bytes)
                        if let part { bytes = part.select(bytes, innerBytes: innerBytes) }
                        if let heads { LlamaCppExport.permuteRows(&bytes, heads: heads, rowBytes: rowBytes) }
                        if addOne { LlamaCppExport.addOne(&bytes, source: source) }
                    }
                }
                return Converter.OutputTensor(plan: TensorPlan(name: tensor.name, dtype: type, shape: tensor.shape),
                                              source: tensor.source, reader: tensor.reader, rewrite: rewrite)
            }
        }
        var text = outputs(export.text)
        if let onlyText { text = text.filter { onlyText.contains($0.source.name) } }
        guard let mmprojPath else {
            return [try Converter.write(text, to: modelPath, format: .gguf, metadata: export.textMetadata + tokenizer + export.tokenizerSuffix,
                                        overwrite: overwrite, progress: progress)]
        }
        // The pair appears whole or not at all: an existing file is refused before anything is
        // written; both are written into a staging folder beside them (removed on errors and
        // signals) and renamed into place only once both are complete.
        for path in [modelPath, mmprojPath] {
            var status = stat()
            guard lstat(path, &status) == 0 else { continue }
            guard overwrite else { throw CheckpointError(path: path, problem: FileProblem.outputExists) }
            guard (status.st_mode & S_IFMT) == S_IFREG else { throw CheckpointError(path: path, problem: FileProblem.outputNotAFile) }
        }
        // Errors about the staged files name the folder the pair goes to.
        let destination = modelPath.lastIndex(of: "/").map { String(modelPath[..<$0]) } ?? ""
        let staging = try DirectoryOutput.makeTemporaryFolder(beside: modelPath, shownAs: destination)
        defer { DirectoryOutput.removeTemporaryFolder(staging) }
        let stagedText = staging + "/" + baseName(modelPath), stagedMMProj = staging + "/" + baseName(mmprojPath)
        let textSummary = try Converter.write(text, to: stagedText, format: .gguf, metadata: export.textMetadata + tokenizer + export.tokenizerSuffix,
                                              overwrite: false, progress: progress)
        let mmprojSummary = try Converter.write(outputs(export.mmproj), to: stagedMMProj, format: .gguf, metadata: export.mmprojMetadata,
                                                overwrite: false)
        // The mmproj first, marked for removal until the text model is in place too: an error or
        // a signal between the two renames leaves no new file. The mark, set before the first
        // rename, applies only to the new mmproj (its inode: an mmproj it replaces is not the one)
        // and only while the text model's path is not yet the staged text (its inode): a signal
        // after the second rename, before the mark is dropped, keeps the completed pair.
        var stagedStatus = stat()
        guard lstat(stagedText, &stagedStatus) == 0 else { throw CheckpointError(path: modelPath, problem: FileProblem.cannotWrite(errno: errno)) }
        let textInode = UInt64(stagedStatus.st_ino)
        guard lstat(stagedMMProj, &stagedStatus) == 0 else { throw CheckpointError(path: mmprojPath, problem: FileProblem.cannotWrite(errno: errno)) }
        OutputCleanup.register(mmprojPath, ownInode: UInt64(stagedStatus.st_ino), unlessFileAt: modelPath, hasInode: textInode)
        defer { OutputCleanup.unregister(mmprojPath) }
        guard rename(stagedMMProj, mmprojPath) == 0 else { throw CheckpointError(path: mmprojPath, problem: FileProblem.cannotWrite(errno: errno)) }
        guard rename(stagedText, modelPath) == 0 else {
            let code = errno
            unlink(mmprojPath)
            throw CheckpointError(path: modelPath, problem: FileProblem.cannotWrite(errno: code))
        }
        return [textSummary, mmprojSummary].map {
            ConversionSummary(outputPath: $0.outputPath == stagedText ? modelPath : mmprojPath, tensorCount: $0.tensorCount,
                              bytesRead: $0.bytesRead, bytesWritten: $0.bytesWritten)
        }
    }

    static func baseName(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

}
