import EAHCheckpoint
import EAHCore

/// llama.cpp's InternVL files, as convert_hf_to_gguf.py writes them from a release folder: a text
/// GGUF of architecture `qwen2` (rows in Hugging Face order) and an mmproj of projector type
/// `internvl` (`InternVLLayout.llamaCpp`: q, k, v split, layer scales `ls1`/`ls2`, the projector
/// `mm.model.mlp.0/1/3`; `clip.vision.projector.scale_factor` = 1 / downsample_ratio, the tile
/// bounds in `clip.vision.preproc_min_tiles`/`max_tiles`). The tower's norm is RMSNorm when its
/// norms carry no bias (the 6B tower; llama.cpp tells it by width 3200 and 45 blocks, which no
/// other released tower has), QK-norm and qkv biases are there or not.
extension InternVLLoader {
    /// Loads the text GGUF at `textPath` (its tensors read through `textReader` when given: a
    /// baked bundle's original rows laid over it) and the mmproj at `mmprojPath`.
    public static func load(gguf textPath: String, mmproj mmprojPath: String, textReader: (any CheckpointReader)? = nil) throws(CheckpointError) -> InternVLWeights {
        let gguf = try GGUFReader(path: textPath), mmproj = try GGUFReader(path: mmprojPath)
        let text: any CheckpointReader = textReader ?? gguf
        let config = try ggufConfig(text: gguf, mmproj: mmproj)
        let textSource = TrackingSource(source: TensorSource(text)), visionSource = TrackingSource(source: TensorSource(mmproj))
        let weights = try assemble(text: textSource, vision: visionSource, config: config, layout: .llamaCpp, source: text)
        try refuseUnused(text, textSource)
        try refuseUnused(mmproj, visionSource)
        return weights
    }

    /// The configuration from the two files' metadata; `<IMG_CONTEXT>` from the text file's
    /// vocabulary (`tokenizer.ggml.tokens`).
    static func ggufConfig(text: GGUFReader, mmproj: GGUFReader) throws(CheckpointError) -> InternVLConfig {
        func fail(_ reader: GGUFReader, _ key: String, _ reason: String) -> CheckpointError {
            CheckpointError(path: reader.path, problem: ModelProblem.badConfig(field: key, reason: reason))
        }
        let architecture = text.metadataValue("general.architecture")?.string ?? ""
        guard architecture == "qwen2" else {
            throw fail(text, "general.architecture", "is '\(TerminalText.escape(architecture))'; InternVL's text model is read as 'qwen2' (the InternLM2 decoder is not supported yet)")
        }
        let projector = mmproj.metadataValue("clip.projector_type")?.string ?? ""
        guard projector == "internvl" else {
            throw fail(mmproj, "clip.projector_type", "is '\(TerminalText.escape(projector))'; an InternVL mmproj is 'internvl'")
        }
        var llama: LlamaConfig
        do throws(ModelProblem) {
            llama = try LlavaConfigReader.ggufText(text.metadata, hasOutput: text.tensors.contains { $0.name == "output.weight" },
                                                   vocabRows: text.tensors.first { $0.name == "token_embd.weight" }?.shape.first, architecture: "qwen2")
        } catch { throw CheckpointError(path: text.path, problem: error) }
        llama.queryKeyValueBias = true
        llama.outputBias = false
        typealias R = LlavaConfigReader
        let v = "clip.vision.", m = mmproj.metadata
        let vision: InternViTSpec, factor: Int, minTiles: Int, maxTiles: Int
        do throws(ModelProblem) {
            let hidden = try R.metaInteger(m, v + "embedding_length")
            let activation: Activation = R.metaValue(m, "clip.use_silu") == .bool(true) ? .silu : .gelu
            vision = InternViTSpec(
                hiddenSize: hidden, intermediateSize: try R.metaInteger(m, v + "feed_forward_length"),
                layerCount: try R.metaInteger(m, v + "block_count"), headCount: try R.metaInteger(m, v + "attention.head_count"),
                imageSize: try R.metaInteger(m, v + "image_size"), patchSize: try R.metaInteger(m, v + "patch_size"), channelCount: 3,
                norm: mmproj.tensors.contains { $0.name == "v.blk.0.ln1.bias" } ? .layerNorm : .rmsNorm,
                normEps: Float(try R.metaFloat(m, v + "attention.layer_norm_epsilon", default: 1e-6)),
                qkvBias: mmproj.tensors.contains { $0.name == "v.blk.0.attn_q.bias" },
                qkNorm: mmproj.tensors.contains { $0.name == "v.blk.0.attn_q_norm.weight" }, activation: activation)
            factor = try R.metaInteger(m, v + "projector.scale_factor", default: 2)
            minTiles = try R.metaInteger(m, v + "preproc_min_tiles", default: 1, range: 1...64)
            maxTiles = try R.metaInteger(m, v + "preproc_max_tiles", default: 12, range: 1...64)
            let projection = try R.metaInteger(m, v + "projection_dim")
            guard projection == llama.hiddenSize else {
                throw ModelProblem.badConfig(field: v + "projection_dim", reason: "(\(projection)) must equal the text model's embedding_length (\(llama.hiddenSize))")
            }
        } catch { throw CheckpointError(path: mmproj.path, problem: error) }
        guard vision.hiddenSize % vision.headCount == 0 else { throw fail(mmproj, v + "attention.head_count", "(\(vision.headCount)) does not divide embedding_length (\(vision.hiddenSize))") }
        guard vision.imageSize % vision.patchSize == 0 else { throw fail(mmproj, v + "patch_size", "(\(vision.patchSize)) does not divide image_size (\(vision.imageSize))") }
        guard vision.patchesPerSide % factor == 0 else {
            throw fail(mmproj, v + "projector.scale_factor", "(\(factor)) does not divide the \(vision.patchesPerSide) patches per side")
        }
        guard minTiles <= maxTiles else { throw fail(mmproj, v + "preproc_min_tiles", "(\(minTiles)) exceeds preproc_max_tiles (\(maxTiles))") }
        var context: Int?
        if case .array(_, let vocabulary)? = text.metadataValue("tokenizer.ggml.tokens") {
            context = vocabulary.firstIndex { $0.string == "<IMG_CONTEXT>" }
        }
        guard let context, context < llama.vocabSize else { throw fail(text, "tokenizer.ggml.tokens", "lacks <IMG_CONTEXT> (InternVL's image token)") }
        let side = vision.patchesPerSide / factor
        return InternVLConfig(vision: vision, text: llama.spec, imageTokenID: context, tokensPerTile: side * side, shuffleFactor: factor,
                              projectorActivation: .gelu, eosTokenIDs: llama.eosTokenIDs,
                              tiling: InternVLTiling(tileSize: vision.imageSize, dynamic: true, minTiles: minTiles, maxTiles: maxTiles))
    }
}
