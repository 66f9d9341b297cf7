import EAHCheckpoint
import EAHCore
import EAHFrontEnd

/// InternVL in llama.cpp's layout, as the llama.cpp that llama-cpp-python 0.3.36 vendors writes
/// it from a release folder (convert_hf_to_gguf.py; it writes no mmproj tensors from a `-hf`
/// folder, whose `vision_tower.*` names its InternVisionModel filters out):
/// * text model: `Qwen2Model`, architecture `qwen2`, `Qwen2VLLayout.gguf` names, rows as stored
///   (no permutation), tensors in the release checkpoint's (sorted) order.
/// * mmproj: `InternVisionModel`, projector type `internvl`, `InternVLLayout.llamaCpp` names,
///   tensors in the release checkpoint's order with `attn.qkv` split into q, k, v (biases first),
///   `class_embd` and `position_embd` kept F32, `patch_embd.weight` F16 only under f16.
/// Written from the `-hf` layouts (separate q/k/v) and the release layout (the thirds of its fused
/// `attn.qkv` as parts of that tensor).
extension InternVLModel: LlamaCppExportable {
    public func checkLlamaCppExport(folder: String, dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) {
        func refuse(_ reason: String) -> LlamaCppExportRefusal { LlamaCppExportRefusal(reason: reason) }
        guard dtype != .q4_0 else {
            throw refuse("llama.cpp's converters write f32, f16, bf16 or q8_0; write q8_0 or f16 and quantize further with llama-quantize")
        }
        guard weights.layout != .llamaCpp else { throw refuse("the model is already a llama.cpp GGUF (convert it with --keep-names to change its types)") }
        let v = config.vision
        // clip.cpp picks the tower's norm by size: RMSNorm exactly for the 6B tower (3200 wide, 45 blocks).
        let llamaCppRMS = v.hiddenSize == 3200 && v.layerCount == 45
        guard (v.norm == .rmsNorm) == llamaCppRMS else {
            throw refuse("the vision tower's \(v.norm == .rmsNorm ? "RMSNorm" : "LayerNorm") at width \(v.hiddenSize) with \(v.layerCount) blocks: llama.cpp uses RMSNorm exactly for the 6B tower (3200 wide, 45 blocks)")
        }
        guard v.activation == .gelu || v.activation == .silu else { throw refuse("the vision tower's activation is neither gelu nor silu (clip.use_gelu / clip.use_silu)") }
        guard config.projectorActivation == .gelu else { throw refuse("projector_hidden_act is not gelu (llama.cpp's internvl projector uses GELU)") }
        guard config.text.rope.parameters.type == .default, config.text.rope.sections == nil else {
            throw refuse("the text model's RoPE scaling is not written by this exporter yet")
        }
        guard config.text.masks.allSatisfy({ $0 == .causal }) else { throw refuse("the text model uses sliding-window layers, which llama.cpp's qwen2 architecture lacks") }
    }

    public func llamaCppExport(folder: String, imageMean: [Float], imageStd: [Float],
                               dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) -> LlamaCppExport {
        try checkLlamaCppExport(folder: folder, dtype: dtype)
        let source = weights.source, layout = weights.layout, text = config.text, vision = config.vision
        // (output name, source name, order key: the release checkpoint's name and the q/k/v part;
        // `fused`: the source holds q, k, v and this is third `part`).
        typealias Entry = (name: String, source: String, key: String, part: Int, rule: LlamaCppExport.TypeRule, fused: Bool)
        func tensors(_ entries: [Entry]) -> [LlamaCppExport.Tensor] {
            entries.sorted { ($0.key, $0.part) < ($1.key, $1.part) }.compactMap { entry in
                guard let info = source.tensor(named: entry.source) else { return nil }
                guard entry.fused, let rows = info.shape.first else {
                    return LlamaCppExport.Tensor(name: entry.name, source: info, reader: source, shape: info.shape, rule: entry.rule, permuteHeads: nil)
                }
                return LlamaCppExport.Tensor(name: entry.name, source: info, reader: source, shape: [rows / 3] + info.shape.dropFirst(), rule: entry.rule,
                                             permuteHeads: nil, part: LlamaCppExport.Part(index: entry.part, count: 3, innerElements: info.elementCount / 3))
            }
        }

        var textEntries: [Entry] = []
        let release = InternVLLayout.original.text, gguf = InternVLLayout.llamaCpp.text
        for role in Qwen2VLLayout.Role.allCases {
            let perLayer = release.names[role]!.contains("{n}")
            for layer in perLayer ? Array(0..<text.layerCount) : [0] {
                for suffix in [".weight", ".bias"] {
                    textEntries.append((gguf.name(role, layer: layer) + suffix, layout.text.name(role, layer: layer) + suffix,
                                        release.name(role, layer: layer) + suffix, 0, .converter, false))
                }
            }
        }
        let textTensors = tensors(textEntries)

        var visionEntries: [Entry] = []
        let from = layout.tower, to = InternViTNames.llamaCpp, original = InternViTNames.original
        func add(_ target: String, _ sourceName: String, _ key: String, part: Int = 0, rule: LlamaCppExport.TypeRule = .converter, fused: Bool = false) {
            visionEntries.append(("v." + target, layout.vision + sourceName, "vision_model." + key, part, rule, fused))
        }
        // The converter keeps F32 what does not end in `.weight` (the class token) and the positions.
        add(to.classToken, from.classToken, original.classToken, rule: .alwaysF32)
        add(to.positions, from.positions, original.positions, rule: .alwaysF32)
        for suffix in [".weight", ".bias"] {
            add(to.patchEmbedding + suffix, from.patchEmbedding + suffix, original.patchEmbedding + suffix, rule: suffix == ".weight" ? .patchEmbedding : .converter)
        }
        for n in 0..<vision.layerCount {
            let l = { (names: InternViTNames) in names.layers + "\(n)." }
            let a = { (names: InternViTNames) in l(names) + names.attention }
            guard case .split(let tq, let tk, let tv) = to.qkv, case .fused(let qkv) = original.qkv else { continue }
            for suffix in [".weight", ".bias"] {
                for (part, target) in [tq, tk, tv].enumerated() {
                    switch from.qkv {
                    case .split(let q, let k, let v): add(a(to) + target + suffix, a(from) + [q, k, v][part] + suffix, a(original) + qkv + suffix, part: part)
                    case .fused(let fused): add(a(to) + target + suffix, a(from) + fused + suffix, a(original) + qkv + suffix, part: part, fused: true)
                    }
                }
                add(a(to) + to.output + suffix, a(from) + from.output + suffix, a(original) + original.output + suffix)
                add(l(to) + to.norm1 + suffix, l(from) + from.norm1 + suffix, l(original) + original.norm1 + suffix)
                add(l(to) + to.norm2 + suffix, l(from) + from.norm2 + suffix, l(original) + original.norm2 + suffix)
                add(l(to) + to.fc1 + suffix, l(from) + from.fc1 + suffix, l(original) + original.fc1 + suffix)
                add(l(to) + to.fc2 + suffix, l(from) + from.fc2 + suffix, l(original) + original.fc2 + suffix)
            }
            add(a(to) + to.queryNorm + ".weight", a(from) + from.queryNorm + ".weight", a(original) + original.queryNorm + ".weight")
            add(a(to) + to.keyNorm + ".weight", a(from) + from.keyNorm + ".weight", a(original) + original.keyNorm + ".weight")
            add(l(to) + to.lambda1, l(from) + from.lambda1, l(original) + original.lambda1)
            add(l(to) + to.lambda2, l(from) + from.lambda2, l(original) + original.lambda2)
        }
        for (index, (part, releasePart)) in zip(layout.projectorParts, InternVLLayout.original.projectorParts).enumerated() {
            for suffix in [".weight", ".bias"] {
                let target = InternVLLayout.llamaCpp.projector + InternVLLayout.llamaCpp.projectorParts[index] + suffix
                visionEntries.append((target, layout.projector + part + suffix, "mlp1." + releasePart + suffix, 0, .converter, false))
            }
        }
        let mmprojTensors = tensors(visionEntries)

        let arch = "qwen2", u32 = { (value: Int) in MetadataValue.uint32(UInt32(clamping: value)) }
        let name = LlamaCppExport.modelName(folder: folder)
        let textParameters = textTensors.reduce(0) { $0 + $1.source.elementCount }
        let textMetadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string(arch)),
            .init(key: "general.type", value: .string("model")),
            .init(key: "general.name", value: .string(name)),
            .init(key: "general.size_label", value: .string(LlamaCppExport.sizeLabel(parameters: textParameters))),
            .init(key: "\(arch).block_count", value: u32(text.layerCount)),
            .init(key: "\(arch).context_length", value: u32(text.rope.maxPositionEmbeddings)),
            .init(key: "\(arch).embedding_length", value: u32(text.hiddenSize)),
            .init(key: "\(arch).feed_forward_length", value: u32(text.intermediateSize)),
            .init(key: "\(arch).attention.head_count", value: u32(text.attention.headCount)),
            .init(key: "\(arch).attention.head_count_kv", value: u32(text.attention.kvHeadCount)),
            .init(key: "\(arch).rope.freq_base", value: .float32(Float(text.rope.parameters.theta))),
            .init(key: "\(arch).attention.layer_norm_rms_epsilon", value: .float32(text.norm.eps)),
            .init(key: "general.file_type", value: .uint32(LlamaCppExport.fileType(dtype, tensors: textTensors))),
            .init(key: "general.quantization_version", value: .uint32(2)),
        ]
        let floats = { (values: [Float]) in MetadataValue.array(element: .float32, values.map { .float32($0) }) }
        let mmprojParameters = mmprojTensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        var mmprojMetadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string("clip")),
            .init(key: "general.type", value: .string("mmproj")),
            .init(key: "general.name", value: .string(name)),
            .init(key: "general.size_label", value: .string(LlamaCppExport.sizeLabel(parameters: mmprojParameters))),
            .init(key: "general.file_type", value: .uint32(LlamaCppExport.fileType(dtype, tensors: mmprojTensors))),
            .init(key: "clip.has_vision_encoder", value: .bool(true)),
            .init(key: "clip.vision.projection_dim", value: u32(text.hiddenSize)),
            .init(key: "clip.vision.image_size", value: u32(vision.imageSize)),
            .init(key: "clip.vision.patch_size", value: u32(vision.patchSize)),
            .init(key: "clip.vision.embedding_length", value: u32(vision.hiddenSize)),
            .init(key: "clip.vision.feed_forward_length", value: u32(vision.intermediateSize)),
            .init(key: "clip.vision.block_count", value: u32(vision.layerCount)),
            .init(key: "clip.vision.attention.head_count", value: u32(vision.headCount)),
            .init(key: "clip.vision.image_mean", value: floats(imageMean)),
            .init(key: "clip.vision.image_std", value: floats(imageStd)),
            .init(key: "clip.projector_type", value: .string("internvl")),
            .init(key: "clip.vision.attention.layer_norm_epsilon", value: .float32(vision.normEps)),
            .init(key: vision.activation == .silu ? "clip.use_silu" : "clip.use_gelu", value: .bool(true)),
            .init(key: "clip.vision.projector.scale_factor", value: u32(config.shuffleFactor)),
        ]
        // The tile bounds: the release config's min/max_dynamic_patch, else the -hf processor's min/max_patches.
        var bounds = config.tiling.map { ($0.minTiles, $0.maxTiles) }
        if bounds == nil, let processor = try? GotOcr2ImageProcessor(folder: folder) { bounds = (processor.minPatches, processor.maxPatches) }
        guard let (minTiles, maxTiles) = bounds else {
            throw LlamaCppExportRefusal(reason: "the folder has no readable image processor configuration (processor_config.json or preprocessor_config.json) for the mmproj's tile bounds")
        }
        mmprojMetadata += [
            .init(key: "clip.vision.preproc_min_tiles", value: u32(minTiles)),
            .init(key: "clip.vision.preproc_max_tiles", value: u32(maxTiles)),
            .init(key: "general.quantization_version", value: .uint32(2)),
        ]
        return LlamaCppExport(text: textTensors, textMetadata: textMetadata, mmproj: mmprojTensors, mmprojMetadata: mmprojMetadata,
                              architecture: arch, projectorType: "internvl")
    }
}
