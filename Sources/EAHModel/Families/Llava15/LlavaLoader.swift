import EAHCheckpoint
import EAHCore

/// Loads a LLaVA-structured model (CLIP tower, MLP projector, LLaMA decoder) into `LlavaWeights`.
///
/// Which checkpoints hold which parts, how they are named, which transforms apply (GGUF Q/K
/// un-permutation, the legacy mmproj's fc1/fc2 swap) and which tensors may sit unused all come
/// from `WeightNameTable` (`layouts`, `rows`, `transform(for:in:)`, `ignorable`); this file only
/// reads what the table names. Layouts: llava-hf folders or files with a `config.json` beside
/// them (legacy, transformers 4.5x and 5.x names); the original LLaVA release with its CLIP folder
/// (`--vision-tower`); a llama.cpp text GGUF with its legacy LLaVA `mmproj` GGUF.
///
/// Matrices point into the mapped checkpoint (owner: the reader) when `MatrixMultiply` has a
/// kernel for their type and the reader gives the bytes zero-copy; otherwise they are copied
/// once (kernel types) or decoded to F32 once (other types). GGUF `attn_q`/`attn_k` rows are
/// un-permuted into a new buffer (one copy of those two matrices per layer, in their stored
/// type). Norms, biases and the class/position embeddings are decoded to `[Float]`. Only the
/// vision layers the feature layers need are loaded.
///
/// Before anything is read, the checkpoint's names are checked against the architecture: all
/// needed tensors absent are reported in one `ModelProblem.missingTensors`, all unknown ones in
/// one `ModelProblem.unexpectedTensors` (file order). Every error is a `CheckpointError` about
/// the file concerned.
public enum LlavaLoader {
    /// Loads the LLaVA-structured model (1.5, NeXT, OneVision) at `model` through the family
    /// registry; a model of another family is refused.
    public static func load(model: String, visionTower: String? = nil, mmproj: String? = nil,
                            textOverlay: String? = nil) throws(CheckpointError) -> LlavaWeights {
        let loaded = try ModelFamilies.load(ModelRequest(model: model, visionTower: visionTower, mmproj: mmproj, textOverlay: textOverlay))
        guard let llava = loaded as? LlavaModel else {
            throw CheckpointError(path: model, problem: ModelProblem.unsupportedLayout("is a \(loaded.family) model, not a LLaVA one"))
        }
        return llava.weights
    }

    /// Loads a LLaVA-structured model (CLIP tower, MLP projector, LLaMA decoder) in `layout`,
    /// reading which checkpoints hold which parts from `WeightNameTable.layouts`.
    ///
    /// `hfConfig` reads a Hugging Face layout's `config.json` (the family's llava-hf reader).
    /// `naming` replaces the layout's table entry (a family whose release names its parts differently).
    static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, family: String, naming override: WeightNameTable.LayoutNaming? = nil,
                     hfConfig: (JSONValue) throws(ModelProblem) -> LlavaConfig = LlavaConfigReader.llavaHF) throws(CheckpointError) -> LlavaWeights {
        guard let naming = override ?? WeightNameTable.layouts[layout] else {
            throw CheckpointError(path: request.model, problem: ModelProblem.unsupportedLayout(WeightNameTable.refusals[layout] ?? "the tensor names match no LLaVA layout"))
        }
        var companionReader: (any CheckpointReader)?
        var companionPath: String?
        if let companion = naming.companion {
            let path = companion.kind == .visionTower ? request.visionTower : request.mmproj
            guard let path else { throw CheckpointError(path: request.model, problem: ModelProblem.needsCompanion(companion.missingHint)) }
            let opened = try Checkpoint.open(path)
            if companion.kind == .mmproj, WeightLayout.detect(opened) != .llamaCppMMProj {
                throw CheckpointError(path: path, problem: ModelProblem.unsupportedLayout("this is not an mmproj GGUF (general.architecture 'clip', v.* and mm.* tensors)"))
            }
            companionReader = opened
            companionPath = path
        }
        let folder = folder(of: request.model)
        var config: LlavaConfig
        var companions: ModelCompanions
        switch naming.config {
        case .huggingFace:
            let path = configPath(beside: request.model)
            let json = try parseJSON(path)
            config = try parse(path, json, hfConfig)
            companions = ModelCompanions(family: family, architecture: architecture(json, fallback: layout.rawValue), tokenizer: .folder(folder),
                                         preprocessor: .folder(folder), imageMode: "crop", imageIsToken: true, isGGUF: false, bundled: [])
        case .originalWithTower:
            // The tower's config (and preprocessing) come from its folder even when its weights are in the checkpoint.
            guard let towerPath = companionPath ?? request.visionTower else {
                throw CheckpointError(path: request.model, problem: ModelProblem.needsCompanion(
                    "the original LLaVA layout's config.json does not describe its vision tower: pass --vision-tower with the tower folder mm_vision_tower names (its config.json and preprocessor_config.json)"))
            }
            let towerConfig = try parseJSON(configPath(beside: towerPath))
            let path = configPath(beside: request.model)
            let json = try parseJSON(path)
            config = try parse(path, json) { json throws(ModelProblem) in try LlavaConfigReader.original(json, visionTower: towerConfig) }
            let towerFolder = Self.folder(of: towerPath)
            companions = ModelCompanions(
                family: family, architecture: architecture(json, fallback: layout.rawValue), tokenizer: .folder(folder),
                preprocessor: .folder(towerFolder), imageMode: json["image_aspect_ratio"] == .string("pad") ? "pad" : "crop",
                imageIsToken: false, isGGUF: false,
                // A tower inside the checkpoint: the bundle still carries the folder's config files.
                bundled: [ModelCompanions.Bundled(kind: .visionTower, reader: companionReader ?? ConfigOnlyTower(path: towerFolder),
                                                  files: ["config.json", "preprocessor_config.json"].map { towerFolder + "/" + $0 })])
        case .gguf:
            guard let projReader = companionReader, let mmproj = companionPath else { throw CheckpointError(path: request.model, problem: ModelProblem.needsCompanion("pass --mmproj")) }
            do throws(ModelProblem) {
                config = try LlavaConfigReader.gguf(text: reader.metadata, mmproj: projReader.metadata,
                                                    hasOutput: reader.tensor(named: "output.weight") != nil,
                                                    vocabRows: reader.tensor(named: "token_embd.weight")?.shape.first)
            } catch {
                // Name the file whose key is wrong.
                throw CheckpointError(path: error.isTextKey ? request.model : mmproj, problem: error)
            }
            // GGUF has no key for these: biases are there or not.
            config.text.attentionBias = reader.tensor(named: "blk.0.attn_q.bias") != nil
            config.text.mlpBias = reader.tensor(named: "blk.0.ffn_gate.bias") != nil
            companions = ModelCompanions(family: family, architecture: "llama+clip (gguf)", tokenizer: .ggufMetadata(request.model),
                                         preprocessor: .mmproj(mmproj), imageMode: "pad", imageIsToken: false, isGGUF: true,
                                         bundled: [ModelCompanions.Bundled(kind: .mmproj, reader: projReader, files: [])])
        }
        let main = try Part(reader: reader, scheme: pick(naming.schemes, reader), config: config, roles: naming.parts)
        var second: Part?
        if let companion = naming.companion, let companionReader {
            second = try Part(reader: companionReader, scheme: pick(companion.schemes, companionReader), config: config, roles: companion.parts)
        }
        func part(_ role: WeightRole.Part) -> Part { naming.parts.contains(role) ? main : second ?? main }
        return try assemble(config: config, layout: layout, text: main, vision: part(.vision), projector: part(.projector),
                            sources: [reader] + (companionReader.map { [$0] } ?? []), companions: companions)
    }

    /// Whether a present tensor may be left unused (`WeightNameTable.ignorable`).
    public static func isIgnorable(_ name: String) -> Bool {
        WeightNameTable.isIgnorable(name)
    }

    /// `architectures[0]`, else `model_type`, else `fallback`.
    static func architecture(_ json: JSONValue, fallback: String) -> String {
        if case .array(let names)? = json["architectures"], case .string(let first)? = names.first { return first }
        if case .string(let type)? = json["model_type"] { return type }
        return fallback
    }

    /// The folder a model path stands for: itself when a folder, else the file's folder.
    static func folder(of path: String) -> String {
        var status = stat()
        if stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { return path }
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    // MARK: parts

    /// One checkpoint's share of the model: the names it must hold, checked up front.
    struct Part {
        let reader: any CheckpointReader
        let scheme: WeightNameTable.Scheme
        let byName: [String: TensorInfo]
        /// fc1/fc2 of mmproj layers whose names are the right way round (clip.cpp's shape test failed).
        let swappedFFN: Bool

        init(reader: any CheckpointReader, scheme: WeightNameTable.Scheme, config: LlavaConfig, roles: Set<WeightRole.Part>) throws(CheckpointError) {
            self.reader = reader
            self.scheme = scheme
            var byName: [String: TensorInfo] = [:]
            for tensor in reader.tensors { byName[tensor.name] = tensor }
            self.byName = byName
            // clip.cpp: swap up/down when ffn_down.weight has n_embd columns. Our table names fc1
            // `ffn_down` (the legacy converter), so the names are kept then and swapped otherwise.
            let ffnTransform = WeightNameTable.transform(for: WeightRole(.fc1, layer: 0), in: scheme, headCount: 1, kvHeadCount: 1)
            if ffnTransform == .swapFFNIfDownHasHiddenColumns, let down = byName[WeightNameTable.name(WeightRole(.fc1, layer: 0), in: scheme)] {
                swappedFFN = down.shape.last != config.vision.hiddenSize
            } else {
                swappedFFN = false
            }
            let required = LlavaLoader.required(config, roles: roles)
            let allowed = Set(LlavaLoader.allowed(config, roles: roles).map { name(for: $0) })
            let missing = required.map { name(for: $0) }.filter { byName[$0] == nil }
            if !missing.isEmpty { throw CheckpointError(path: reader.path, problem: ModelProblem.missingTensors(missing)) }
            let unexpected = reader.tensors.map(\.name).filter { !allowed.contains($0) && !WeightNameTable.isIgnorable($0) }
            if !unexpected.isEmpty { throw CheckpointError(path: reader.path, problem: ModelProblem.unexpectedTensors(unexpected)) }
        }

        func name(for role: WeightRole) -> String {
            var role = role
            if swappedFFN, role.tensor == .fc1 { role.tensor = .fc2 } else if swappedFFN, role.tensor == .fc2 { role.tensor = .fc1 }
            return WeightNameTable.name(role, in: scheme)
        }

        func info(_ role: WeightRole, shape: [Int]) throws(CheckpointError) -> TensorInfo {
            let name = name(for: role)
            guard let info = byName[name] else { throw CheckpointError(path: reader.path, problem: ModelProblem.missingTensors([name])) }
            guard info.shape == shape else {
                throw CheckpointError(path: reader.path, problem: ModelProblem.wrongShape(tensor: name, expected: shape, actual: info.shape))
            }
            return info
        }

        /// A [rows, columns] matrix (or a tensor of `shape` read as one), zero-copy when possible.
        func matrix(_ role: WeightRole, rows: Int, columns: Int, shape: [Int]? = nil) throws(CheckpointError) -> WeightMatrix {
            try TensorSource.matrix(try info(role, shape: shape ?? [rows, columns]), of: reader, rows: rows, columns: columns)
        }

        /// A tensor of `shape` decoded to floats.
        func vector(_ role: WeightRole, shape: [Int]) throws(CheckpointError) -> [Float] {
            try TensorSource.decode(try info(role, shape: shape), of: reader)
        }

        func optionalVector(_ role: WeightRole, shape: [Int], when present: Bool) throws(CheckpointError) -> [Float]? {
            present ? try vector(role, shape: shape) : nil
        }
    }

    /// The roles a model of `config` needs from the given parts.
    static func required(_ config: LlavaConfig, roles parts: Set<WeightRole.Part>) -> [WeightRole] {
        var roles: [WeightRole] = []
        let t = config.text
        if parts.contains(.text) {
            roles.append(WeightRole(.tokenEmbedding))
            for layer in 0..<t.layerCount {
                for tensor: WeightRole.Tensor in [.inputNorm, .query, .key, .value, .output, .postAttentionNorm, .gate, .up, .down] {
                    roles.append(WeightRole(tensor, layer: layer))
                }
                let attention = t.spec.attention
                for (tensor, bias) in [(WeightRole.Tensor.query, attention.queryBias), (.key, attention.keyBias), (.value, attention.valueBias), (.output, attention.outputBias)]
                where bias { roles.append(WeightRole(tensor, layer: layer, bias: true)) }
                if t.mlpBias { for tensor: WeightRole.Tensor in [.gate, .up, .down] { roles.append(WeightRole(tensor, layer: layer, bias: true)) } }
            }
            roles.append(WeightRole(.textNorm))
        }
        if parts.contains(.lmHead), !t.tieWordEmbeddings { roles.append(WeightRole(.lmHead)) }
        if parts.contains(.vision) {
            let spec = config.vision.spec
            roles += [WeightRole(.patchEmbedding), WeightRole(.positionEmbedding)]
            if spec.classToken { roles.append(WeightRole(.classEmbedding)) }
            if spec.patchBias { roles.append(WeightRole(.patchEmbedding, bias: true)) }
            if spec.preNorm { roles += [WeightRole(.preLayerNorm), WeightRole(.preLayerNorm, bias: true)] }
            roles += visionLayerRoles(0..<LlavaConfigReader.neededVisionLayers(config))
        }
        if parts.contains(.projector) {
            for tensor: WeightRole.Tensor in [.projector1, .projector2] {
                roles.append(WeightRole(tensor))
                if config.projectorBias { roles.append(WeightRole(tensor, bias: true)) }
            }
            if config.anyres?.packing == .spatialUnpad { roles.append(WeightRole(.imageNewline)) }
        }
        return roles
    }

    /// Everything the given parts may hold: the required roles plus unused-but-known ones.
    static func allowed(_ config: LlavaConfig, roles parts: Set<WeightRole.Part>) -> [WeightRole] {
        var roles = required(config, roles: parts)
        if parts.contains(.lmHead), config.text.tieWordEmbeddings { roles.append(WeightRole(.lmHead)) }
        // llama.cpp's packing has no newline; the legacy mmproj carries it anyway.
        if parts.contains(.projector), config.anyres?.packing == .llamaCppSlices { roles.append(WeightRole(.imageNewline)) }
        if parts.contains(.vision) {
            roles += [WeightRole(.postLayerNorm), WeightRole(.postLayerNorm, bias: true)]
            roles += visionLayerRoles(LlavaConfigReader.neededVisionLayers(config)..<max(config.vision.layerCount, LlavaConfigReader.neededVisionLayers(config)))
        }
        return roles
    }

    static func visionLayerRoles(_ layers: Range<Int>) -> [WeightRole] {
        var roles: [WeightRole] = []
        for layer in layers {
            for tensor: WeightRole.Tensor in [.layerNorm1, .visionQuery, .visionKey, .visionValue, .visionOutput, .layerNorm2, .fc1, .fc2] {
                roles += [WeightRole(tensor, layer: layer), WeightRole(tensor, layer: layer, bias: true)]
            }
        }
        return roles
    }

    // MARK: assembly

    static func assemble(config: LlavaConfig, layout: WeightLayout, text: Part, vision: Part, projector: Part, sources: [any CheckpointReader],
                         companions: ModelCompanions) throws(CheckpointError) -> LlavaWeights {
        let t = config.text, v = config.vision
        let llama = try assembleText(t, text: text)

        let h = v.hiddenSize
        func layerNorm(_ tensor: WeightRole.Tensor, _ layer: Int?) throws(CheckpointError) -> NormWeights {
            NormWeights(weight: try vision.vector(WeightRole(tensor, layer: layer), shape: [h]),
                        bias: try vision.vector(WeightRole(tensor, layer: layer, bias: true), shape: [h]))
        }
        var clipLayers: [CLIPLayerWeights] = []
        for i in 0..<LlavaConfigReader.neededVisionLayers(config) {
            func linear(_ tensor: WeightRole.Tensor, _ rows: Int, _ columns: Int) throws(CheckpointError) -> LinearWeights {
                LinearWeights(weight: try vision.matrix(WeightRole(tensor, layer: i), rows: rows, columns: columns),
                              bias: try vision.vector(WeightRole(tensor, layer: i, bias: true), shape: [rows]))
            }
            clipLayers.append(CLIPLayerWeights(
                layerNorm1: try layerNorm(.layerNorm1, i), query: try linear(.visionQuery, h, h), key: try linear(.visionKey, h, h),
                value: try linear(.visionValue, h, h), output: try linear(.visionOutput, h, h), layerNorm2: try layerNorm(.layerNorm2, i),
                fc1: try linear(.fc1, v.intermediateSize, h), fc2: try linear(.fc2, h, v.intermediateSize)))
        }
        let p = v.patchSize, c = v.channelCount, spec = v.spec
        let clip = CLIPVisionWeights(
            classEmbedding: try vision.optionalVector(WeightRole(.classEmbedding), shape: [h], when: spec.classToken),
            patchEmbedding: try vision.matrix(WeightRole(.patchEmbedding), rows: h, columns: c * p * p, shape: [h, c, p, p]),
            patchBias: try vision.optionalVector(WeightRole(.patchEmbedding, bias: true), shape: [h], when: spec.patchBias),
            positionEmbedding: try vision.vector(WeightRole(.positionEmbedding), shape: [v.positionCount, h]),
            preLayerNorm: spec.preNorm ? try layerNorm(.preLayerNorm, nil) : nil, layers: clipLayers,
            postLayerNorm: clipLayers.count == v.layerCount && vision.byName[vision.name(for: WeightRole(.postLayerNorm))] != nil
                ? try layerNorm(.postLayerNorm, nil) : nil)

        let features = h * config.visionFeatureLayers.count
        func projectorLinear(_ tensor: WeightRole.Tensor, _ columns: Int) throws(CheckpointError) -> LinearWeights {
            LinearWeights(weight: try projector.matrix(WeightRole(tensor), rows: t.hiddenSize, columns: columns),
                          bias: try projector.optionalVector(WeightRole(tensor, bias: true), shape: [t.hiddenSize], when: config.projectorBias))
        }
        var proj = ProjectorWeights(linear1: try projectorLinear(.projector1, features), linear2: try projectorLinear(.projector2, t.hiddenSize))
        if config.anyres?.packing == .spatialUnpad { proj.imageNewline = try projector.vector(WeightRole(.imageNewline), shape: [t.hiddenSize]) }
        return LlavaWeights(config: config, vision: clip, projector: proj, text: llama, layout: layout, sources: sources,
                            textScheme: text.scheme, companions: companions)
    }

    /// The LLaMA-shaped decoder of `text` (GGUF Q/K rows un-permuted as the table says).
    static func assembleText(_ t: LlamaConfig, text: Part) throws(CheckpointError) -> LlamaWeights {
        let qRows = t.headCount * t.headDim, kvRows = t.kvHeadCount * t.headDim, attention = t.spec.attention
        var layers: [LlamaLayerWeights] = []
        for i in 0..<t.layerCount {
            func linear(_ tensor: WeightRole.Tensor, _ rows: Int, _ columns: Int, bias: Bool) throws(CheckpointError) -> LinearWeights {
                var weight = try text.matrix(WeightRole(tensor, layer: i), rows: rows, columns: columns)
                var biasValues = try text.optionalVector(WeightRole(tensor, layer: i, bias: true), shape: [rows], when: bias)
                let transform = WeightNameTable.transform(for: WeightRole(tensor, layer: i), in: text.scheme, headCount: t.headCount, kvHeadCount: t.kvHeadCount)
                if case .unpermuteRows(let heads) = transform {
                    weight = unpermuteRows(weight, heads: heads)
                    biasValues = biasValues.map { unpermute($0, heads: heads) }
                }
                return LinearWeights(weight: weight, bias: biasValues)
            }
            let norm1 = NormWeights(weight: try text.vector(WeightRole(.inputNorm, layer: i), shape: [t.hiddenSize]))
            let norm2 = NormWeights(weight: try text.vector(WeightRole(.postAttentionNorm, layer: i), shape: [t.hiddenSize]))
            layers.append(LlamaLayerWeights(
                inputNorm: norm1,
                query: try linear(.query, qRows, t.hiddenSize, bias: attention.queryBias),
                key: try linear(.key, kvRows, t.hiddenSize, bias: attention.keyBias),
                value: try linear(.value, kvRows, t.hiddenSize, bias: attention.valueBias),
                output: try linear(.output, t.hiddenSize, qRows, bias: attention.outputBias),
                postAttentionNorm: norm2,
                gate: try linear(.gate, t.intermediateSize, t.hiddenSize, bias: t.mlpBias),
                up: try linear(.up, t.intermediateSize, t.hiddenSize, bias: t.mlpBias),
                down: try linear(.down, t.hiddenSize, t.intermediateSize, bias: t.mlpBias)))
        }
        let embed = try text.matrix(WeightRole(.tokenEmbedding), rows: t.vocabSize, columns: t.hiddenSize)
        let head = t.tieWordEmbeddings ? embed : try text.matrix(WeightRole(.lmHead), rows: t.vocabSize, columns: t.hiddenSize)
        return LlamaWeights(embedTokens: embed, layers: layers, norm: NormWeights(weight: try text.vector(WeightRole(.textNorm), shape: [t.hiddenSize])), lmHead: head)
    }

    // MARK: GGUF Q/K rows

    /// Row `h·hd + j·hd/2 + i` of the result is row `h·hd + 2i + j` of `matrix` (undoes
    /// convert_hf_to_gguf's permute), copied in the stored type into a new buffer.
    static func unpermuteRows(_ matrix: WeightMatrix, heads: Int) -> WeightMatrix {
        let rowBytes = matrix.rowBytes
        let storage = OwnedBytes(count: matrix.data.count)
        guard let from = matrix.data.baseAddress, let to = storage.buffer.baseAddress else { return matrix }
        for (destination, source) in rowOrder(rows: matrix.rows, heads: heads).enumerated() {
            (to + destination * rowBytes).copyMemory(from: from + source * rowBytes, byteCount: rowBytes)
        }
        // Same size, type and shape as a matrix that already passed the checks.
        return (try? WeightMatrix(rows: matrix.rows, columns: matrix.columns, dtype: matrix.dtype, data: storage.bytes(matrix.data.count), owner: storage)) ?? matrix
    }

    static func unpermute(_ values: [Float], heads: Int) -> [Float] {
        rowOrder(rows: values.count, heads: heads).map { values[$0] }
    }

    /// For each HF row, the GGUF row it comes from.
    static func rowOrder(rows: Int, heads: Int) -> [Int] {
        guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else { return Array(0..<rows) }
        let dim = rows / heads, half = dim / 2
        var order = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for j in 0..<2 {
                for i in 0..<half { order[h * dim + j * half + i] = h * dim + 2 * i + j }
            }
        }
        return order
    }

    // MARK: config files

    static func configPath(beside path: String) -> String {
        var status = stat()
        if stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            return (path.hasSuffix("/") ? path : path + "/") + "config.json"
        }
        guard let slash = path.lastIndex(of: "/") else { return "config.json" }
        return String(path[...slash]) + "config.json"
    }

    static func parseJSON(_ path: String) throws(CheckpointError) -> JSONValue {
        let file = try MappedFile(path: path)
        do throws(JSONProblem) {
            return try JSONParser.parse(file.bytes)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    static func parse<Config>(_ path: String, _ json: JSONValue, _ body: (JSONValue) throws(ModelProblem) -> Config) throws(CheckpointError) -> Config {
        do throws(ModelProblem) { return try body(json) } catch { throw CheckpointError(path: path, problem: error) }
    }

    /// The scheme among `candidates` whose patch embedding (every tower has one) the checkpoint
    /// holds (else the first).
    static func pick(_ candidates: [WeightNameTable.Scheme], _ reader: any CheckpointReader) -> WeightNameTable.Scheme {
        candidates.first { reader.tensor(named: WeightNameTable.name(WeightRole(.patchEmbedding), in: $0)) != nil } ?? candidates[0]
    }
}

extension ModelProblem {
    /// Whether a GGUF config problem is about the text model's keys (else the mmproj's).
    var isTextKey: Bool {
        if case .badConfig(let field, let reason) = self {
            return field.hasPrefix("llama.") || field == "general.architecture" && reason.contains("text model")
        }
        return false
    }
}

/// A vision tower folder read for its config files only (its weights are in the model's
/// checkpoint): no tensors.
final class ConfigOnlyTower: CheckpointReader {
    let path: String
    var format: CheckpointFormat { .safetensors }
    var tensors: [TensorInfo] { [] }
    var metadata: [MetadataEntry] { [] }

    init(path: String) { self.path = path }

    func bytes(of tensor: TensorInfo) throws(CheckpointError) -> TensorBytes {
        throw CheckpointError(path: path, problem: ModelProblem.missingTensors([tensor.name]))
    }
}
