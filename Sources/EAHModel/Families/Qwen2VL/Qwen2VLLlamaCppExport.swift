import EAHCheckpoint
import EAHCore
import EAHFrontEnd

/// Qwen2-VL and Qwen2.5-VL in llama.cpp's layout, as convert_hf_to_gguf.py of the llama.cpp that
/// llama-cpp-python 0.3.36 vendors writes them (the reverse of `Qwen2VLGGUF.swift`):
/// * text model (`Qwen2VLModel`): architecture `qwen2vl`, tensors in the checkpoint's order under
///   llama.cpp's names (rows in Hugging Face order: no q/k permutation), M-RoPE sections padded
///   to four in `qwen2vl.rope.dimension_sections`, no vision tensors.
/// * mmproj (`--mmproj`, `Qwen2VLVisionModel`): architecture `clip`, projector `qwen2vl_merger` /
///   `qwen2.5vl_merger`; the fused qkv split into q, k, v; the Conv3d patch embedding split into
///   its two temporal halves `v.patch_embd.weight` / `.weight.1` (F16 only under f16); for 2.5
///   `clip.use_silu` and `clip.vision.n_wa_pattern` (window attention every block but each
///   n-th). The converter's own choices are kept: `feed_forward_length` is Qwen2-VL's
///   `vision_config.hidden_size`, the norm epsilon the top-level `rms_norm_eps` (else 1e-6).
extension Qwen2VLModel: LlamaCppExportable {
    /// transformers' vision tensor name (after the tower's prefix, without `.weight`/`.bias`) →
    /// llama.cpp's; `{n}` is the block. `attn.qkv` and `patch_embed.proj` are split, not renamed.
    static let mmprojNames: [(source: String, target: String)] = [
        ("blocks.{n}.norm1", "v.blk.{n}.ln1"), ("blocks.{n}.norm2", "v.blk.{n}.ln2"),
        ("blocks.{n}.attn.proj", "v.blk.{n}.attn_out"),
        ("blocks.{n}.mlp.fc1", "v.blk.{n}.ffn_up"), ("blocks.{n}.mlp.fc2", "v.blk.{n}.ffn_down"),
        ("blocks.{n}.mlp.gate_proj", "v.blk.{n}.ffn_gate"), ("blocks.{n}.mlp.up_proj", "v.blk.{n}.ffn_up"),
        ("blocks.{n}.mlp.down_proj", "v.blk.{n}.ffn_down"),
        ("merger.ln_q", "v.post_ln"), ("merger.mlp.0", "mm.0"), ("merger.mlp.2", "mm.2"),
    ]

    /// The window llama.cpp's Qwen2.5-VL encoder always uses (clip.cpp reads no window size).
    static let llamaCppWindowSize = 112

    public func checkLlamaCppExport(folder: String, dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) {
        func refuse(_ reason: String) -> LlamaCppExportRefusal { LlamaCppExportRefusal(reason: reason) }
        guard dtype != .q4_0 else {
            throw refuse("llama.cpp's converters write f32, f16, bf16 or q8_0; write q8_0 or f16 and quantize further with llama-quantize")
        }
        guard weights.layout.vision != nil else { throw refuse("the model is already a llama.cpp GGUF (convert it with --keep-names to change its types)") }
        let text = config.text, vision = config.vision
        guard text.rope.parameters.type == .default else {
            throw refuse("the text model's RoPE scaling '\(text.rope.parameters.type.rawValue)' is not written for qwen2vl by this exporter (M-RoPE without scaling only)")
        }
        guard vision.temporalPatchSize == 2 else {
            throw refuse("vision temporal_patch_size is \(vision.temporalPatchSize); llama.cpp splits the Conv3d into exactly two frames")
        }
        guard vision.mergeSize == 2 else { throw refuse("vision spatial_merge_size is \(vision.mergeSize); llama.cpp's merger merges 2×2 patches") }
        guard vision.ropeTheta == 10000 else { throw refuse("the vision rotary θ is \(vision.ropeTheta); llama.cpp's Qwen2-VL encoder uses 10000") }
        switch (config.variant, vision.mlp) {
        case (.qwen2VL, .plain(.quickGELU)), (.qwen25VL, .gated(.silu)): break
        case (.qwen2VL, _): throw refuse("the vision MLP is not quick_gelu (llama.cpp's qwen2vl_merger encoder uses quick GELU)")
        case (.qwen25VL, _): throw refuse("the vision MLP is not SwiGLU with silu (llama.cpp's qwen2.5vl_merger encoder uses silu)")
        }
        if config.variant == .qwen25VL {
            let full = vision.fullAttentionLayers.sorted()
            guard let first = full.first else { throw refuse("vision_config.fullatt_block_indexes is empty; llama.cpp's n_wa_pattern needs it") }
            let pattern = first + 1
            guard zip(full, full.dropFirst()).allSatisfy({ $1 - $0 == pattern }) else {
                throw refuse("vision_config.fullatt_block_indexes \(full) is not one full-attention block in every \(pattern), which llama.cpp's clip.vision.n_wa_pattern cannot express")
            }
        }
    }

    public func llamaCppExport(folder: String, imageMean: [Float], imageStd: [Float],
                               dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) -> LlamaCppExport {
        try checkLlamaCppExport(folder: folder, dtype: dtype)
        func refuse(_ reason: String) -> LlamaCppExportRefusal { LlamaCppExportRefusal(reason: reason) }
        let text = config.text, vision = config.vision, layout = weights.layout
        let reader = weights.source
        let visionPrefix = layout.vision ?? "visual."
        let configJSON = try? LlavaLoader.parseJSON(LlavaLoader.configPath(beside: folder))
        let textJSON = configJSON?["text_config"].flatMap { $0 == .null ? nil : $0 } ?? configJSON

        // Text: llama.cpp's name of every transformers text name, by role.
        var textNames: [String: String] = [:]
        for role in Qwen2VLLayout.Role.allCases {
            for layer in 0..<(role == .embedding || role == .finalNorm || role == .head ? 1 : text.layerCount) {
                for suffix in [".weight", ".bias"] {
                    textNames[layout.name(role, layer: layer) + suffix] = Qwen2VLLayout.gguf.name(role, layer: layer) + suffix
                }
            }
        }
        func exported(_ name: String, _ info: TensorInfo, shape: [Int]? = nil, rule: LlamaCppExport.TypeRule = .converter,
                      part: LlamaCppExport.Part? = nil) -> LlamaCppExport.Tensor {
            LlamaCppExport.Tensor(name: name, source: info, reader: reader, shape: shape ?? info.shape, rule: rule, permuteHeads: nil, part: part)
        }
        var textTensors: [LlamaCppExport.Tensor] = [], mmprojTensors: [LlamaCppExport.Tensor] = []
        for info in reader.tensors {
            if let name = textNames[info.name] {
                textTensors.append(exported(name, info))
                continue
            }
            guard info.name.hasPrefix(visionPrefix) else { throw refuse("tensor '\(TerminalText.escape(info.name))' has no place in llama.cpp's qwen2vl layout") }
            let local = String(info.name.dropFirst(visionPrefix.count))
            if local == "patch_embed.proj.weight" {
                // [out, channels, 2, p, p] → two [out, channels, p, p] frames.
                guard info.shape.count == 5, info.shape[2] == 2 else { throw refuse("the patch embedding \(info.shape) is not a two-frame Conv3d") }
                let plane = info.shape[3] * info.shape[4], shape = [info.shape[0], info.shape[1], info.shape[3], info.shape[4]]
                for t in 0..<2 {
                    mmprojTensors.append(exported("v.patch_embd.weight" + (t == 0 ? "" : ".1"), info, shape: shape, rule: .patchEmbedding,
                                                  part: .init(index: t, count: 2, innerElements: plane)))
                }
                continue
            }
            guard let (block, stem, suffix) = Self.split(local) else {
                throw refuse("vision tensor '\(TerminalText.escape(info.name))' has no place in llama.cpp's \(projectorType) mmproj")
            }
            if stem == "blocks.{n}.attn.qkv" {
                // Rows q, k, v in that order (weight [3c, c] or bias [3c]).
                guard let rows = info.shape.first, rows % 3 == 0 else { throw refuse("'\(TerminalText.escape(info.name))' does not split in three") }
                let shape = [rows / 3] + info.shape.dropFirst()
                for (index, part) in ["attn_q", "attn_k", "attn_v"].enumerated() {
                    mmprojTensors.append(exported("v.blk.\(block ?? 0).\(part)\(suffix)", info, shape: shape,
                                                  part: .init(index: index, count: 3, innerElements: shape.reduce(1, *))))
                }
                continue
            }
            guard let target = Self.mmprojNames.first(where: { $0.source == stem })?.target else {
                throw refuse("vision tensor '\(TerminalText.escape(info.name))' has no place in llama.cpp's \(projectorType) mmproj")
            }
            mmprojTensors.append(exported(target.replacing("{n}", with: String(block ?? 0)) + suffix, info))
        }
        // q8_0 splits only at whole blocks (llama.cpp's own quantizer falls back to F16 otherwise,
        // as `outputType` does for rows that are not whole blocks).
        for tensor in mmprojTensors where tensor.part != nil {
            let type = LlamaCppExport.outputType(of: tensor, dtype: dtype, mmprojF32: dtype == .f32)
            guard let part = tensor.part, type.byteCount(elements: part.innerElements) != nil else {
                throw refuse("'\(tensor.name)' cannot be split at whole \(type.name) blocks")
            }
        }

        let arch = "qwen2vl"
        let sections = (text.rope.sections ?? []) + [Int](repeating: 0, count: max(0, 4 - (text.rope.sections?.count ?? 0)))
        var textMetadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string(arch)),
            .init(key: "general.type", value: .string("model")),
            .init(key: "general.name", value: .string(LlamaCppExport.modelName(folder: folder))),
            .init(key: "general.size_label", value: .string(LlamaCppExport.sizeLabel(parameters: textTensors.reduce(0) { $0 + $1.elementCount }))),
            .init(key: "\(arch).block_count", value: .uint32(UInt32(text.layerCount))),
            .init(key: "\(arch).context_length", value: .uint32(UInt32(text.rope.maxPositionEmbeddings))),
            .init(key: "\(arch).embedding_length", value: .uint32(UInt32(text.hiddenSize))),
            .init(key: "\(arch).feed_forward_length", value: .uint32(UInt32(text.intermediateSize))),
            .init(key: "\(arch).attention.head_count", value: .uint32(UInt32(text.attention.headCount))),
            .init(key: "\(arch).attention.head_count_kv", value: .uint32(UInt32(text.attention.kvHeadCount))),
            .init(key: "\(arch).rope.dimension_sections", value: .array(element: .int32, sections.prefix(4).map { .int32(Int32($0)) })),
            .init(key: "\(arch).rope.freq_base", value: .float32(Float(text.rope.parameters.theta))),
            .init(key: "\(arch).attention.layer_norm_rms_epsilon", value: .float32(text.norm.eps)),
        ]
        if case .integer? = textJSON?["head_dim"] {
            textMetadata.append(.init(key: "\(arch).attention.key_length", value: .uint32(UInt32(text.attention.headDim))))
            textMetadata.append(.init(key: "\(arch).attention.value_length", value: .uint32(UInt32(text.attention.headDim))))
        }
        textMetadata += [
            .init(key: "general.file_type", value: .uint32(LlamaCppExport.fileType(dtype, tensors: textTensors))),
            .init(key: "general.quantization_version", value: .uint32(2)),
        ]

        let floats = { (values: [Float]) in MetadataValue.array(element: .float32, values.map { .float32($0) }) }
        var imageSize: UInt32 = 560
        if case .integer(let size)? = configJSON?["vision_config"]?["image_size"] { imageSize = UInt32(clamping: size) }
        var epsilon: Float = 1e-6
        switch configJSON?["rms_norm_eps"] {
        case .number(let value)?: epsilon = Float(value)
        case .integer(let value)?: epsilon = Float(value)
        default: break
        }
        var mmprojMetadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string("clip")),
            .init(key: "general.type", value: .string("mmproj")),
            .init(key: "general.name", value: .string(LlamaCppExport.modelName(folder: folder))),
            .init(key: "general.size_label", value: .string(LlamaCppExport.sizeLabel(parameters: mmprojTensors.reduce(0) { $0 + $1.elementCount }))),
            .init(key: "general.file_type", value: .uint32(LlamaCppExport.fileType(dtype, tensors: mmprojTensors))),
            .init(key: "clip.has_vision_encoder", value: .bool(true)),
            .init(key: "clip.vision.projection_dim", value: .uint32(UInt32(text.hiddenSize))),
            .init(key: "clip.vision.image_size", value: .uint32(imageSize)),
            .init(key: "clip.vision.patch_size", value: .uint32(UInt32(vision.patchSize))),
            .init(key: "clip.vision.embedding_length", value: .uint32(UInt32(vision.hiddenSize))),
            // Qwen2-VL: the converter takes vision_config.hidden_size (the merger's output width).
            .init(key: "clip.vision.feed_forward_length",
                  value: .uint32(UInt32(config.variant == .qwen2VL ? vision.outputSize : vision.intermediateSize))),
            .init(key: "clip.vision.block_count", value: .uint32(UInt32(vision.layerCount))),
            .init(key: "clip.vision.attention.head_count", value: .uint32(UInt32(vision.headCount))),
            .init(key: "clip.vision.image_mean", value: floats(imageMean)),
            .init(key: "clip.vision.image_std", value: floats(imageStd)),
            .init(key: "clip.projector_type", value: .string(projectorType)),
        ]
        var warnings: [String] = []
        if config.variant == .qwen25VL {
            mmprojMetadata.append(.init(key: "clip.use_silu", value: .bool(true)))
            let pattern = (vision.fullAttentionLayers.min() ?? 0) + 1
            mmprojMetadata.append(.init(key: "clip.vision.n_wa_pattern", value: .uint32(UInt32(pattern))))
            if let window = vision.windowSize, window != Self.llamaCppWindowSize {
                warnings.append("vision_config.window_size is \(window) px but llama.cpp's Qwen2.5-VL encoder always uses \(Self.llamaCppWindowSize) px windows "
                    + "(convert_hf_to_gguf writes none): llama.cpp's image features will differ from transformers'")
            }
        }
        mmprojMetadata += [
            .init(key: "clip.vision.attention.layer_norm_epsilon", value: .float32(epsilon)),
            .init(key: "general.quantization_version", value: .uint32(2)),
        ]
        var export = LlamaCppExport(text: textTensors, textMetadata: textMetadata, mmproj: mmprojTensors, mmprojMetadata: mmprojMetadata,
                                    architecture: arch, projectorType: projectorType)
        export.warnings = warnings
        return export
    }

    /// The converter's `image_mean`/`image_std`: preprocessor_config.json's, or processor_config.json's `image_processor`.
    public func llamaCppImageStatistics(folder: String) throws(CheckpointError) -> (mean: [Float], std: [Float]) {
        let processor = try Qwen2VLImageProcessor(folder: folder)
        return (processor.base.imageMean.map { Float($0) }, processor.base.imageStd.map { Float($0) })
    }

    /// `qwen2vl_merger` or `qwen2.5vl_merger`.
    var projectorType: String { config.variant == .qwen25VL ? "qwen2.5vl_merger" : "qwen2vl_merger" }

    /// `blocks.3.attn.proj.weight` → (3, `blocks.{n}.attn.proj`, `.weight`); nil without a `.weight`/`.bias` suffix.
    static func split(_ name: String) -> (block: Int?, stem: String, suffix: String)? {
        let suffix: String
        if name.hasSuffix(".weight") { suffix = ".weight" } else if name.hasSuffix(".bias") { suffix = ".bias" } else { return nil }
        var parts = name.dropLast(suffix.count).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var block: Int?
        if parts.count > 1, parts[0] == "blocks", let index = Int(parts[1]) {
            block = index
            parts[1] = "{n}"
        }
        return (block, parts.joined(separator: "."), suffix)
    }
}

extension LlamaCppExport.Tensor {
    /// Elements this tensor holds (its part's share of the source).
    var elementCount: Int { shape.reduce(1, *) }
}
