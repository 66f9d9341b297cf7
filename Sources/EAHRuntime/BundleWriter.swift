import EAH
import EAHCheckpoint
import EAHModel
import EAHCore

/// Writes a self-contained EAH bundle: the weights (sharded where large), the config,
/// tokenizer and preprocessor files, and `manifest.pb`, in a temporary directory renamed into
/// place at the end.
///
/// Text weights keep their names and (unless asked otherwise) types; a GGUF bundle of a non-GGUF
/// source is written in llama.cpp's layout instead (`LlamaCppWriter`: model.gguf, mmproj.gguf,
/// tokenizer and hyperparameters in their metadata), which stock llama.cpp runs. With `bake`, each
/// patched layer's q_proj/k_proj rows (and biases) are overwritten with the chosen head's, and
/// the tensors as they were go to `eah_original_rows.*` for `--no-eah` and `unpatch`.
public enum BundleWriter {
    @discardableResult
    public static func write(_ request: BundleRequest, to output: String, overwrite: Bool,
                             progress: ((Int, Int) -> Void)? = nil) throws(CheckpointError) -> EAHManifest {
        let model = try ModelFamilies.load(ModelRequest(model: request.model, visionTower: request.visionTower, mmproj: request.mmproj))
        guard model.takesImages else { throw CheckpointError(path: request.model, problem: ModelProblem.textOnlyForEAH) }
        let config = model.shape
        let patches = try validated(request, shape: config)
        let isGGUF = model.companions.isGGUF
        let format = request.format ?? (isGGUF ? .gguf : .safetensors)
        if isGGUF, format != .gguf {
            throw CheckpointError(path: request.model, problem: BundleProblem.badPatch("a llama.cpp GGUF bundle stays GGUF (its hyperparameters live in GGUF metadata)"))
        }
        let directory = try DirectoryOutput(path: output, overwrite: overwrite, kind: .bundle)
        let reader = model.textCheckpoint
        let options = ConversionOptions(format: format, dtype: request.dtype)
        var written: [String] = []

        // The text model (with the projector, and for llava-hf the vision tower too).
        var rewrites: [String: Converter.Rewrite] = [:]
        var overwritten: Set<String> = []
        if request.bake {
            for patch in patches {
                guard case .fixed(let head) = patch.selection else { continue }
                let kvHead = HeadBake.kvHead(of: head, headCount: config.headCount, kvHeadCount: config.kvHeadCount)
                for target in model.bakeTargets(layer: patch.layer) {
                    let (blocks, source) = target.perKVHead ? (config.kvHeadCount, kvHead) : (config.headCount, head)
                    guard let tensor = reader.tensor(named: target.name) else { continue }
                    let rows = tensor.shape.first ?? 0, rowsPerBlock = config.headDim
                    guard rows == blocks * rowsPerBlock else { continue }
                    // Rows in whatever type the output holds them (the bytes are whole rows).
                    rewrites[target.name] = { bytes in
                        HeadBake.broadcastBlock(&bytes, source: source, blockCount: blocks, rowsPerBlock: rowsPerBlock, rowBytes: bytes.count / rows)
                    }
                    overwritten.insert(target.name)
                }
            }
        }
        let modelName = format == .gguf ? BundleLayout.ggufModel : "model.safetensors"
        // GGUF from a non-GGUF source: llama.cpp's layout (text model and mmproj), runnable by stock llama.cpp.
        let llamaCpp = format == .gguf && !isGGUF
        if llamaCpp {
            var export = try LlamaCppWriter.export(model, path: request.model, dtype: request.dtype)
            export.tokenizerPre = request.tokenizerPre
            try LlamaCppWriter.write(export, model: model, path: request.model, modelPath: directory.file(BundleLayout.ggufModel),
                                     mmprojPath: directory.file(BundleLayout.ggufMMProj), dtype: request.dtype, overwrite: false,
                                     rewrites: rewrites, progress: progress)
            written += [BundleLayout.ggufModel, BundleLayout.ggufMMProj]
            if request.bake {
                try LlamaCppWriter.write(export, model: model, path: request.model, modelPath: directory.file(BundleLayout.originalRowsGGUF),
                                         mmprojPath: nil, dtype: request.dtype, overwrite: false, onlyText: overwritten)
                written.append(BundleLayout.originalRowsGGUF)
            }
        } else {
            written += try writeWeights(reader, into: directory, name: modelName, options: options, rewrites: rewrites, progress: progress)
            if request.bake {
                let originals = format == .gguf ? BundleLayout.originalRowsGGUF : BundleLayout.originalRowsSafetensors
                try Converter.convert(reader, to: directory.file(originals), options: options, only: overwritten)
                written.append(originals)
            }
        }

        // Companions: a vision tower folder, or the mmproj. The bundle carries them (the llama.cpp
        // layout in its mmproj), so it does not depend on where they were.
        let folder = ModelFiles.folder(of: request.model)
        var sourceFiles = SourceFiles(folder: folder)
        sourceFiles.insert(reader.tensors.map(\.file))
        for companion in model.companions.bundled {
            let carriedAs = companion.kind == .visionTower ? BundleLayout.visionTower + "/" : ""
            sourceFiles.insert(companion.reader.tensors.map(\.file), companion: carriedAs)
            sourceFiles.insert(companion.files.filter(ModelFiles.exists), companion: carriedAs)
            if llamaCpp { continue }  // the mmproj holds the tower
            switch companion.kind {
            case .visionTower:
                try directory.makeFolder(BundleLayout.visionTower)
                try Converter.convert(companion.reader, to: directory.file(BundleLayout.visionTower + "/model.safetensors"), options: ConversionOptions(format: .safetensors))
                written.append(BundleLayout.visionTower + "/model.safetensors")
            case .mmproj:
                try Converter.convert(companion.reader, to: directory.file(BundleLayout.ggufMMProj), options: ConversionOptions(format: .gguf))
                written.append(BundleLayout.ggufMMProj)
            }
            for file in companion.files where ModelFiles.exists(file) {
                let name = String(file[file.index(after: file.lastIndex(of: "/") ?? file.startIndex)...])
                try directory.copy(file, as: BundleLayout.visionTower + "/" + name)
            }
        }
        // The files that say how to feed the model (tokenizer, template, processor settings)
        // travel with it, beside a GGUF too; llama.cpp's layout carries them in its metadata.
        if !llamaCpp {
            for name in BundleLayout.companionFiles where ModelFiles.exists(folder + "/" + name) {
                try directory.copy(folder + "/" + name, as: name)
                sourceFiles.insert([folder + "/" + name])
            }
        }
        sourceFiles.insert(try writeModelCard(request, patches: patches, from: folder, into: directory))

        let manifest = EAHManifest(
            toolVersion: EAHVersion.current,
            model: EAHManifest.ModelIdentity(
                architecture: model.companions.architecture,
                weightLayout: model.layoutName,
                sourceFiles: try sourceFiles.names.sorted { $0.key < $1.key }.map { name, path throws(CheckpointError) in try checksum(path, name: name) },
                family: model.family),
            patches: patches, baked: request.bake, calibration: request.calibration,
            weightFiles: try written.sorted().map { name throws(CheckpointError) in try checksum(directory.file(name), name: name) })
        for (name, text) in request.extraFiles { try TextFile.write(text, to: directory.file(name), overwrite: false) }
        try manifest.write(to: directory.file(BundleLayout.manifest), overwrite: false)
        try directory.commit()
        return manifest
    }

    /// Copies the model folder's license files and writes its README with the EAH section
    /// appended; returns the source files used.
    static func writeModelCard(_ request: BundleRequest, patches: [EAHLayerPatch], from folder: String,
                               into directory: DirectoryOutput) throws(CheckpointError) -> [String] {
        var used: [String] = []
        for name in ModelCard.licenseFiles where ModelFiles.exists(folder + "/" + name) {
            try directory.copy(folder + "/" + name, as: name)
            used.append(folder + "/" + name)
        }
        var original: String?
        let readme = folder + "/" + ModelCard.readme
        if ModelFiles.exists(readme) {
            let file = try MappedFile(path: readme)
            original = withExtendedLifetime(file) { String(decoding: file.bytes, as: UTF8.self) }
            used.append(readme)
        }
        let text = ModelCard.readme(original: original, patches: patches, baked: request.bake, calibration: request.calibration)
        try TextFile.write(text, to: directory.file(ModelCard.readme), overwrite: false)
        return used
    }

    /// Checks patches against the model; baked patches become phase `all`.
    static func validated(_ request: BundleRequest, shape config: DecoderShape) throws(CheckpointError) -> [EAHLayerPatch] {
        func fail(_ text: String) -> CheckpointError { CheckpointError(path: request.model, problem: BundleProblem.badPatch(text)) }
        guard !request.patches.isEmpty else { throw fail("no layer to patch") }
        var seen = Set<Int>()
        var patches: [EAHLayerPatch] = []
        for var patch in request.patches {
            guard (0..<config.layerCount).contains(patch.layer) else { throw fail("layer \(patch.layer) does not exist (the decoder has \(config.layerCount))") }
            guard seen.insert(patch.layer).inserted else { throw fail("layer \(patch.layer) is patched twice") }
            if case .fixed(let head) = patch.selection, !(0..<config.headCount).contains(head) {
                throw fail("head \(head) does not exist (layer \(patch.layer) has \(config.headCount))")
            }
            if let targets = patch.targetHeads, targets.contains(where: { !(0..<config.headCount).contains($0) }) {
                throw fail("target heads \(targets) include a head the model lacks")
            }
            if request.bake {
                guard case .fixed = patch.selection else { throw fail("--bake needs static heads (--report or --head), not dynamic selection") }
                guard patch.targetHeads == nil else { throw fail("--bake writes every head; target head subsets cannot be baked") }
                patch.phase = .all
            }
            patches.append(patch)
        }
        return patches.sorted { $0.layer < $1.layer }
    }

    /// Writes `reader`'s tensors as `name`, or as `model-0000i-of-0000n.safetensors` shards plus
    /// an index when the tensor data exceeds `BundleLayout.maximumShardBytes`.
    static func writeWeights(_ reader: any CheckpointReader, into directory: DirectoryOutput, name: String, options: ConversionOptions,
                             rewrites: [String: Converter.Rewrite], progress: ((Int, Int) -> Void)?) throws(CheckpointError) -> [String] {
        let plans = try Converter.plan(reader, options: options)
        let total = plans.reduce(0) { $0 + ($1.byteCount ?? 0) }
        guard options.format == .safetensors, total > BundleLayout.maximumShardBytes else {
            try Converter.convert(reader, to: directory.file(name), options: options, rewrites: rewrites, progress: progress)
            return [name]
        }
        var shards: [[TensorPlan]] = [[]]
        var size = 0
        for plan in plans {
            let bytes = plan.byteCount ?? 0
            if size + bytes > BundleLayout.maximumShardBytes, !shards[shards.count - 1].isEmpty {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(plan)
            size += bytes
        }
        var names: [String] = []
        var weightMap: [(String, JSONValue)] = []
        var done = 0
        for (index, shard) in shards.enumerated() {
            let shardName = "model-\(pad(index + 1))-of-\(pad(shards.count)).safetensors"
            let offset = done
            try Converter.convert(reader, to: directory.file(shardName), options: options, only: Set(shard.map(\.name)), rewrites: rewrites,
                                  progress: progress.map { report in { done, _ in report(offset + done, total) } })
            done += shard.reduce(0) { $0 + ($1.byteCount ?? 0) }
            names.append(shardName)
            weightMap += shard.map { ($0.name, JSONValue.string(shardName)) }
        }
        let index = JSONValue.object([("metadata", .object([("total_size", .integer(total))])), ("weight_map", .object(weightMap))])
        try TextFile.write(index.serialized + "\n", to: directory.file("model.safetensors.index.json"), overwrite: false)
        return names + ["model.safetensors.index.json"]
    }

    static func pad(_ value: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 5 - text.count)) + text
    }

    static func checksum(_ path: String, name: String) throws(CheckpointError) -> EAHManifest.FileChecksum {
        var status = stat()
        guard stat(path, &status) == 0 else { throw CheckpointError(path: path, problem: FileProblem.notFound) }
        return EAHManifest.FileChecksum(path: name, sha256: try FileDigest.sha256(path: path), size: Int(status.st_size))
    }

    /// The files a bundle was made from, by the relative name its manifest records them under
    /// (`model.source_files` refuses absolute and escaping paths): relative to the model folder,
    /// or for a companion outside it (`--vision-tower /elsewhere/clip`), the tower's files under
    /// the bundle's `vision_tower/` (`vision_tower/config.json`) and an mmproj by its file name.
    struct SourceFiles {
        let folder: String
        private(set) var names: [String: String] = [:]

        init(folder: String) { self.folder = folder }

        mutating func insert(_ paths: [String], companion prefix: String? = nil) {
            for path in paths {
                if let prefix, !path.hasPrefix(folder + "/") {
                    names[prefix + (path.split(separator: "/").last.map(String.init) ?? path)] = path
                } else {
                    names[relative(path, to: folder)] = path
                }
            }
        }
    }

    static func relative(_ path: String, to folder: String) -> String {
        path.hasPrefix(folder + "/") ? String(path.dropFirst(folder.count + 1)) : path
    }
}
