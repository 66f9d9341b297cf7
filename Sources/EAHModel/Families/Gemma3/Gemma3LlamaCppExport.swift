import EAHCheckpoint
import EAHCore

/// Gemma 3 in llama.cpp's layout, as convert_hf_to_gguf.py of the llama.cpp that llama-cpp-python
/// 0.3.36 vendors writes it (`Gemma3Model`, and `Gemma3VisionModel` with `--mmproj`):
/// * text model: architecture `gemma3`, `Gemma3LlamaCppNames` names, every RMSNorm weight stored
///   as w + 1, no q/k permutation, tensors in the checkpoint's order, no vision tensors, the
///   SentencePiece vocabulary padded to `vocab_size` (so the embedding keeps its rows) and
///   `tokenizer.ggml.add_space_prefix` false after it.
/// * mmproj: architecture `clip`, projector `gemma3`, the projector then the SigLIP tower in the
///   checkpoint's order (its pooling head dropped), the soft-embedding norm as w + 1, the input
///   projection forced to F16 and the embeddings to F32, `clip.vision.projector.scale_factor`
///   only when the pooling is not 4×4.
extension Gemma3 {
    static func checkLlamaCppExport(_ weights: Gemma3Weights, folder: String, dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) {
        func refuse(_ reason: String) -> LlamaCppExportRefusal { LlamaCppExportRefusal(reason: reason) }
        guard dtype != .q4_0 else {
            throw refuse("llama.cpp's converters write f32, f16, bf16 or q8_0; write q8_0 or f16 and quantize further with llama-quantize")
        }
        guard !weights.layout.llamaCpp else { throw refuse("the model is already a llama.cpp GGUF pair") }
        let json = try? LlavaLoader.parseJSON(LlavaLoader.configPath(beside: folder))
        let text = json?["text_config"]
        if let cap = text?["attn_logit_softcapping"], cap != .null {
            throw refuse("text_config.attn_logit_softcapping is set; llama.cpp's gemma3 has no attention soft-capping (its converter refuses it)")
        }
        // llama.cpp assumes every sixth layer global and scales queries by 1/sqrt(head_dim).
        let spec = weights.config.text
        let pattern = (0..<spec.layerCount).map { $0 % 6 < 5 }
        guard spec.masks.map({ if case .slidingWindow = $0 { true } else { false } }) == pattern else {
            throw refuse("the text model's sliding/global layers do not follow Gemma 3's every-sixth-layer pattern, which is all llama.cpp's gemma3 reads")
        }
        let llamaScale = 1 / Float(spec.layerCount == 62 ? spec.hiddenSize / spec.attention.headCount : spec.attention.headDim).squareRoot()
        guard abs(spec.attention.scale - llamaScale) <= 1e-6 * llamaScale else {
            throw refuse("query_pre_attn_scalar differs from head_dim; llama.cpp's gemma3 scales queries by 1/sqrt(head_dim)")
        }
        if case .object? = text?["rope_parameters"]?["sliding_attention"], spec.rope.slidingParameters?.type != .default {
            throw refuse("the sliding layers' RoPE is scaled; llama.cpp's gemma3 scales only the global layers")
        }
        guard spec.rope.parameters.type == .default || spec.rope.parameters.type == .linear else {
            throw refuse("RoPE scaling '\(spec.rope.parameters.type.rawValue)' is not written by this exporter (Gemma 3 uses linear)")
        }
    }

    static func llamaCppExport(_ weights: Gemma3Weights, folder: String, imageMean: [Float], imageStd: [Float],
                               dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) -> LlamaCppExport {
        try checkLlamaCppExport(weights, folder: folder, dtype: dtype)
        let config = weights.config, spec = config.text, vision = config.vision, layout = weights.layout, reader = weights.source
        func refuse(_ reason: String) -> LlamaCppExportRefusal { LlamaCppExportRefusal(reason: reason) }

        // Every tensor of the checkpoint, by part, in file order; SigLIP's head has no llama.cpp name.
        var textTensors: [LlamaCppExport.Tensor] = [], mmproj: [LlamaCppExport.Tensor] = []
        var projector: [LlamaCppExport.Tensor] = [], tower: [LlamaCppExport.Tensor] = []
        for info in reader.tensors {
            if layout.heads.contains(info.name) {
                // An untied head (Gemma 3 ties it; the converter maps lm_head to `output`).
                textTensors.append(LlamaCppExport.Tensor(name: "output.weight", source: info, reader: reader, shape: info.shape, rule: .converter, permuteHeads: nil))
                continue
            }
            let parts: [(Gemma3LlamaCppNames.Part, String)] = [(.text, layout.text), (.vision, layout.visions[0]), (.projector, layout.projector)]
            guard let (part, prefix) = parts.first(where: { info.name.hasPrefix($0.1) }) else {
                throw refuse("the tensor \(TerminalText.escape(info.name)) belongs to no part of Gemma 3 that llama.cpp names")
            }
            let key = String(info.name.dropFirst(prefix.count))
            guard let entry = Gemma3LlamaCppNames.entry(part, key) else {
                if part == .vision, key.hasPrefix("head.") { continue }
                throw refuse("the tensor \(TerminalText.escape(info.name)) has no llama.cpp name")
            }
            let squeezed = info.shape.filter { $0 != 1 }
            let rule: LlamaCppExport.TypeRule = entry.name == "mm.input_projection.weight" ? .alwaysF16
                : key.hasPrefix("embeddings.") ? .alwaysF32 : .converter
            let tensor = LlamaCppExport.Tensor(name: entry.name, source: info, reader: reader, shape: squeezed.isEmpty ? [1] : squeezed,
                                               rule: rule, permuteHeads: nil, addOne: entry.plusOne)
            switch part {
            case .text: textTensors.append(tensor)
            case .vision: tower.append(tensor)
            case .projector: projector.append(tensor)
            }
        }
        mmproj = projector + tower

        let parameters = textTensors.reduce(0) { $0 + $1.source.elementCount }
        let arch = "gemma3"
        func u32(_ key: String, _ value: Int) -> MetadataEntry { .init(key: key, value: .uint32(UInt32(clamping: value))) }
        var textMetadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string(arch)),
            .init(key: "general.type", value: .string("model")),
            .init(key: "general.name", value: .string(LlamaCppExport.modelName(folder: folder))),
            .init(key: "general.size_label", value: .string(LlamaCppExport.sizeLabel(parameters: parameters))),
            u32("\(arch).block_count", spec.layerCount), u32("\(arch).context_length", spec.rope.maxPositionEmbeddings),
            u32("\(arch).embedding_length", spec.hiddenSize), u32("\(arch).feed_forward_length", spec.intermediateSize),
            u32("\(arch).attention.head_count", spec.attention.headCount), u32("\(arch).attention.head_count_kv", spec.attention.kvHeadCount),
        ]
        let global = spec.rope.parameters
        if global.type == .linear {
            textMetadata.append(.init(key: "\(arch).rope.scaling.type", value: .string("linear")))
            textMetadata.append(.init(key: "\(arch).rope.scaling.factor", value: .float32(Float(global.factor))))
        }
        textMetadata.append(.init(key: "\(arch).rope.freq_base", value: .float32(Float(global.theta))))
        if let local = spec.rope.slidingParameters {
            textMetadata.append(.init(key: "\(arch).rope.freq_base_swa", value: .float32(Float(local.theta))))
        }
        textMetadata += [
            .init(key: "\(arch).attention.layer_norm_rms_epsilon", value: .float32(spec.norm.eps)),
            u32("\(arch).attention.key_length", spec.attention.headDim), u32("\(arch).attention.value_length", spec.attention.headDim),
            .init(key: "general.file_type", value: .uint32(LlamaCppExport.fileType(dtype, tensors: textTensors))),
        ]
        if let window = spec.masks.lazy.compactMap({ if case .slidingWindow(let w) = $0 { w } else { nil } }).first {
            textMetadata.append(u32("\(arch).attention.sliding_window", window))
        }
        textMetadata.append(u32("general.quantization_version", 2))

        let floats = { (values: [Float]) in MetadataValue.array(element: .float32, values.map { .float32($0) }) }
        let mmprojParameters = mmproj.reduce(0) { $0 + $1.source.elementCount }
        var mmprojMetadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string("clip")),
            .init(key: "general.type", value: .string("mmproj")),
            .init(key: "general.name", value: .string(LlamaCppExport.modelName(folder: folder))),
            .init(key: "general.size_label", value: .string(LlamaCppExport.sizeLabel(parameters: mmprojParameters))),
            .init(key: "general.file_type", value: .uint32(LlamaCppExport.fileType(dtype, tensors: textTensors))),
            .init(key: "clip.has_vision_encoder", value: .bool(true)),
            u32("clip.vision.projection_dim", spec.hiddenSize), u32("clip.vision.image_size", vision.imageSize),
            u32("clip.vision.patch_size", vision.patchSize), u32("clip.vision.embedding_length", vision.hiddenSize),
            u32("clip.vision.feed_forward_length", vision.intermediateSize), u32("clip.vision.block_count", vision.layerCount),
            u32("clip.vision.attention.head_count", vision.headCount),
            .init(key: "clip.vision.image_mean", value: floats(imageMean)),
            .init(key: "clip.vision.image_std", value: floats(imageStd)),
            .init(key: "clip.projector_type", value: .string("gemma3")),
            .init(key: "clip.vision.attention.layer_norm_epsilon", value: .float32(vision.layerNormEps)),
            .init(key: "clip.use_gelu", value: .bool(true)),
        ]
        if config.poolKernel != 4 { mmprojMetadata.append(u32("clip.vision.projector.scale_factor", config.poolKernel)) }
        mmprojMetadata.append(u32("general.quantization_version", 2))
        return LlamaCppExport(text: textTensors, textMetadata: textMetadata, mmproj: mmproj, mmprojMetadata: mmprojMetadata,
                              architecture: arch, projectorType: "gemma3", tokenizerSuffix: [.init(key: "tokenizer.ggml.add_space_prefix", value: .bool(false))])
    }
}

extension Gemma3Model: LlamaCppExportable {
    public func checkLlamaCppExport(folder: String, dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) {
        try Gemma3.checkLlamaCppExport(weights, folder: folder, dtype: dtype)
    }

    public func llamaCppExport(folder: String, imageMean: [Float], imageStd: [Float],
                               dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) -> LlamaCppExport {
        try Gemma3.llamaCppExport(weights, folder: folder, imageMean: imageMean, imageStd: imageStd, dtype: dtype)
    }
}
