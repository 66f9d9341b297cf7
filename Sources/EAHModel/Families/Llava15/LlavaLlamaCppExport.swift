import EAHCheckpoint
import EAHCore

/// LLaVA-1.5 in llama.cpp's layout, as the llama.cpp that llama-cpp-python 0.3.36 vendors writes it:
/// * text model: convert_hf_to_gguf.py's `LlamaModel` (LlavaForConditionalGeneration is registered
///   there): architecture `llama`, `WeightNameTable.gguf` names, q/k rows (and biases) permuted,
///   tensors in the checkpoint's order, no vision tensors.
/// * mmproj: `convert_hf_to_gguf.py --mmproj` refuses LLaVA-1.5 at that version (its
///   LlavaVisionModel takes Pixtral and Mistral 3 only), so the documented legacy path is matched:
///   llava_surgery_v2 + tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py
///   `--clip-model-is-vision`: architecture `clip`, projector type `mlp`, projector first, then
///   the tower in module order up to the feature layer (layers past it and `post_layernorm`
///   dropped, `block_count` the layers kept), fc1/fc2 named `ffn_down`/`ffn_up`.
extension Llava15 {
    /// The CLIP tower's tensors in `CLIPVisionModel.state_dict()` order, before the layers.
    static let encoderStem: [WeightRole] = [
        WeightRole(.classEmbedding), WeightRole(.patchEmbedding), WeightRole(.positionEmbedding),
        WeightRole(.preLayerNorm), WeightRole(.preLayerNorm, bias: true),
    ]
    /// One encoder layer's tensors in module order (CLIPAttention declares k, v, q, out).
    static let encoderLayer: [WeightRole.Tensor] = [.visionKey, .visionValue, .visionQuery, .visionOutput, .layerNorm1, .fc1, .fc2, .layerNorm2]

    /// Refuses what llama.cpp's LLaVA-1.5 layout cannot express, naming the part.
    static func checkLlamaCppExport(_ weights: LlavaWeights, folder: String, dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) {
        let config = weights.config, text = config.text, vision = config.vision
        func refuse(_ reason: String) -> LlamaCppExportRefusal { LlamaCppExportRefusal(reason: reason) }
        guard dtype != .q4_0 else {
            throw refuse("llama.cpp's converters write f32, f16, bf16 or q8_0; write q8_0 or f16 and quantize further with llama-quantize")
        }
        guard vision.architecture == .clip else { throw refuse("the vision tower is not CLIP (llama.cpp's LLaVA-1.5 mmproj is a CLIP encoder)") }
        guard config.featureSelect == .default else {
            throw refuse("vision_feature_select_strategy 'full' keeps the class token; llama.cpp's LLaVA-1.5 projector drops it")
        }
        guard config.visionFeatureLayers.count == 1 else {
            throw refuse("several vision feature layers \(config.visionFeatureLayers) cannot be written as a legacy LLaVA-1.5 mmproj")
        }
        guard config.projectorActivation == .gelu else { throw refuse("projector_hidden_act is not gelu (llama.cpp's mlp projector uses GELU)") }
        guard text.slidingWindow == nil else { throw refuse("the text model uses a sliding attention window, which llama.cpp's llama architecture lacks") }
        let configJSON = try? LlavaLoader.parseJSON(LlavaLoader.configPath(beside: folder))
        let textJSON = configJSON?["text_config"] ?? configJSON
        switch text.rope.type {
        case .default, .linear, .llama3, .yarn: _ = try LlamaCppRopeScaling.metadata(ropeJSON(textJSON), architecture: "llama")
        case .dynamic: throw refuse("RoPE scaling 'dynamic' has no llama.cpp form (llama.cpp's converter writes linear, yarn, and llama3's rope_freqs)")
        }
        if case .string(let type)? = textJSON?["model_type"], !["llama", "llava_llama", "mistral"].contains(type) {
            throw refuse("the text model is '\(TerminalText.escape(type))'; llama.cpp's LLaVA-1.5 export writes llama text models only")
        }
    }

    /// The text model's `rope_parameters` (else `rope_scaling`), as the converter reads them.
    static func ropeJSON(_ textJSON: JSONValue?) -> JSONValue? {
        for key in ["rope_parameters", "rope_scaling"] {
            if let value = textJSON?[key], value != .null { return value }
        }
        return nil
    }

    static func llamaCppExport(_ weights: LlavaWeights, folder: String, imageMean: [Float], imageStd: [Float],
                               dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) -> LlamaCppExport {
        try checkLlamaCppExport(weights, folder: folder, dtype: dtype)
        let config = weights.config, text = config.text, vision = config.vision
        func refuse(_ reason: String) -> LlamaCppExportRefusal { LlamaCppExportRefusal(reason: reason) }
        let configJSON = try? LlavaLoader.parseJSON(LlavaLoader.configPath(beside: folder))
        let textJSON = configJSON?["text_config"] ?? configJSON

        // Every tensor the model uses, by role, found in whichever checkpoint holds it.
        let naming = WeightNameTable.layouts[weights.layout]
        var schemes = [weights.textScheme]
        if let companion = naming?.companion { schemes += companion.schemes }
        func locate(_ role: WeightRole) -> (TensorInfo, any CheckpointReader)? {
            for reader in weights.sources {
                for scheme in schemes {
                    if let info = reader.tensor(named: WeightNameTable.name(role, in: scheme)) { return (info, reader) }
                }
            }
            return nil
        }
        func tensor(_ role: WeightRole, rule: LlamaCppExport.TypeRule, permute: Int? = nil) -> LlamaCppExport.Tensor? {
            guard let (info, reader) = locate(role) else { return nil }
            let squeezed = info.shape.filter { $0 != 1 }
            return LlamaCppExport.Tensor(name: WeightNameTable.name(role, in: WeightNameTable.gguf), source: info, reader: reader,
                                         shape: squeezed.isEmpty ? [1] : squeezed, rule: rule, permuteHeads: permute)
        }

        // Text: the checkpoint's order.
        var textRoles: [String: WeightRole] = [:]
        for role in LlavaLoader.required(config, roles: [.text, .lmHead]) { textRoles[WeightNameTable.name(role, in: weights.textScheme)] = role }
        // LLaMA 3 scaling: the converter's generated rope_freqs.weight comes first.
        let rope = ropeJSON(textJSON)
        var textTensors: [LlamaCppExport.Tensor] = []
        if let factors = LlamaCppRopeScaling.llama3Factors(rope, headDim: text.headDim) {
            textTensors += GeneratedTensors([("rope_freqs.weight", [factors.count], factors)]).exported
        }
        for info in weights.sources[0].tensors {
            guard let role = textRoles[info.name] else { continue }
            let permute: Int? = role.tensor == .query ? text.headCount : role.tensor == .key ? text.kvHeadCount : nil
            if let exported = tensor(role, rule: .converter, permute: permute) { textTensors.append(exported) }
        }

        // mmproj: projector (checkpoint order), then the encoder in module order.
        var projector: [LlamaCppExport.Tensor] = []
        let projectorRoles = LlavaLoader.required(config, roles: [.projector])
        for role in projectorRoles {
            if let exported = tensor(role, rule: .alwaysF16) { projector.append(exported) }
        }
        projector.sort { lhs, rhs in lhs.source.name < rhs.source.name }
        let layers = LlavaConfigReader.neededVisionLayers(config)
        var encoderRoles = encoderStem
        for layer in 0..<layers {
            for part in encoderLayer { encoderRoles += [WeightRole(part, layer: layer), WeightRole(part, layer: layer, bias: true)] }
        }
        var encoder: [LlamaCppExport.Tensor] = []
        for role in encoderRoles {
            guard let exported = tensor(role, rule: role.tensor == .patchEmbedding ? .alwaysF16 : .encoder) else {
                if role.isBias || role.tensor == .classEmbedding || role.tensor == .preLayerNorm { continue }
                throw refuse("the vision tower lacks \(role) needed by the mmproj")
            }
            encoder.append(exported)
        }
        let mmprojTensors = projector + encoder

        let parameters = textTensors.reduce(0) { $0 + $1.source.elementCount }
        let arch = "llama"
        var textMetadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string(arch)),
            .init(key: "general.type", value: .string("model")),
            .init(key: "general.name", value: .string(LlamaCppExport.modelName(folder: folder))),
            .init(key: "general.size_label", value: .string(LlamaCppExport.sizeLabel(parameters: parameters))),
            .init(key: "\(arch).block_count", value: .uint32(UInt32(text.layerCount))),
            .init(key: "\(arch).context_length", value: .uint32(UInt32(text.maxPositionEmbeddings))),
            .init(key: "\(arch).embedding_length", value: .uint32(UInt32(text.hiddenSize))),
            .init(key: "\(arch).feed_forward_length", value: .uint32(UInt32(text.intermediateSize))),
            .init(key: "\(arch).attention.head_count", value: .uint32(UInt32(text.headCount))),
            .init(key: "\(arch).attention.head_count_kv", value: .uint32(UInt32(text.kvHeadCount))),
        ]
        textMetadata += try LlamaCppRopeScaling.metadata(rope, architecture: arch)
        textMetadata += [
            .init(key: "\(arch).rope.freq_base", value: .float32(Float(text.rope.theta))),
            .init(key: "\(arch).attention.layer_norm_rms_epsilon", value: .float32(text.rmsNormEps)),
        ]
        if case .integer? = textJSON?["head_dim"] {
            textMetadata.append(.init(key: "\(arch).attention.key_length", value: .uint32(UInt32(text.headDim))))
            textMetadata.append(.init(key: "\(arch).attention.value_length", value: .uint32(UInt32(text.headDim))))
        }
        textMetadata += [
            .init(key: "general.file_type", value: .uint32(LlamaCppExport.fileType(dtype, tensors: textTensors))),
            .init(key: "\(arch).vocab_size", value: .uint32(UInt32(text.vocabSize))),
            .init(key: "\(arch).rope.dimension_count", value: .uint32(UInt32(text.headDim))),
            .init(key: "general.quantization_version", value: .uint32(2)),
        ]

        let mmprojF32 = dtype == .f32
        let floats = { (values: [Float]) in MetadataValue.array(element: .float32, values.map { .float32($0) }) }
        var projectionDim: UInt32 = 512
        if case .integer(let dim)? = configJSON?["vision_config"]?["projection_dim"] { projectionDim = UInt32(clamping: dim) }
        let mmprojMetadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string("clip")),
            .init(key: "clip.has_text_encoder", value: .bool(false)),
            .init(key: "clip.has_vision_encoder", value: .bool(true)),
            .init(key: "clip.has_llava_projector", value: .bool(true)),
            .init(key: "general.file_type", value: .uint32(mmprojF32 ? 0 : 1)),
            .init(key: "general.name", value: .string(folder.split(separator: "/").last.map(String.init) ?? folder)),
            .init(key: "general.description", value: .string("image encoder for LLaVA")),
            .init(key: "clip.projector_type", value: .string("mlp")),
            .init(key: "clip.vision.image_size", value: .uint32(UInt32(vision.imageSize))),
            .init(key: "clip.vision.patch_size", value: .uint32(UInt32(vision.patchSize))),
            .init(key: "clip.vision.embedding_length", value: .uint32(UInt32(vision.hiddenSize))),
            .init(key: "clip.vision.feed_forward_length", value: .uint32(UInt32(vision.intermediateSize))),
            .init(key: "clip.vision.projection_dim", value: .uint32(projectionDim)),
            .init(key: "clip.vision.attention.head_count", value: .uint32(UInt32(vision.headCount))),
            .init(key: "clip.vision.attention.layer_norm_epsilon", value: .float32(vision.layerNormEps)),
            .init(key: "clip.vision.block_count", value: .uint32(UInt32(layers))),
            .init(key: "clip.vision.image_mean", value: floats(imageMean)),
            .init(key: "clip.vision.image_std", value: floats(imageStd)),
            .init(key: "clip.use_gelu", value: .bool(vision.hiddenAct == .gelu)),
        ]
        return LlamaCppExport(text: textTensors, textMetadata: textMetadata, mmproj: mmprojTensors, mmprojMetadata: mmprojMetadata,
                              architecture: arch, projectorType: "mlp")
    }
}

extension LlavaModel: LlamaCppExportable {
    public func checkLlamaCppExport(folder: String, dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) {
        guard family == Llava15.name else { throw LlamaCppExportRefusal(reason: "the \(family) family has no llama.cpp export yet") }
        try Llava15.checkLlamaCppExport(weights, folder: folder, dtype: dtype)
    }

    public func llamaCppExport(folder: String, imageMean: [Float], imageStd: [Float],
                               dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) -> LlamaCppExport {
        try checkLlamaCppExport(folder: folder, dtype: dtype)
        return try Llava15.llamaCppExport(weights, folder: folder, imageMean: imageMean, imageStd: imageStd, dtype: dtype)
    }
}
