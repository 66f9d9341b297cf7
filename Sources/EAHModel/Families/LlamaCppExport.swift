import EAHCheckpoint
import EAHCore

/// A model in llama.cpp's layout, as llama.cpp's own converters would write it: the text-model
/// GGUF (tensors, `general.*` and architecture hyperparameters; the runtime appends the
/// tokenizer) and the mmproj GGUF. Built by the model's family (`LlamaCppExports`).
public struct LlamaCppExport {
    /// How a tensor's output type follows the requested one.
    public enum TypeRule: Sendable, Equatable {
        /// convert_hf_to_gguf: vectors F32; matrices in the requested type (q8_0 rows that are not
        /// whole blocks fall back to F16).
        case converter
        /// The legacy image-encoder converter: F16 whatever the requested type (convolutions,
        /// projector matrices).
        case alwaysF16
        /// The legacy image-encoder converter: `.weight` matrices F16 under its f16 file type,
        /// everything else F32.
        case encoder
        /// F32 whatever the requested type (convert_hf_to_gguf's `tensor_force_quant`, e.g.
        /// InternVL's position embeddings).
        case alwaysF32
        /// convert_hf_to_gguf's mmproj patch embedding: F16 under f16 (or an F16 source kept), else F32.
        case patchEmbedding
    }

    /// One part of a source tensor seen as `[outer, count, inner]` elements: part `index` of
    /// `count`, giving `[outer, inner]` (a fused qkv's rows split in three: `outer` 1; a Conv3d's
    /// temporal halves: `inner` one kernel plane).
    public struct Part: Sendable, Equatable {
        public var index: Int
        public var count: Int
        public var innerElements: Int

        public init(index: Int, count: Int, innerElements: Int) {
            self.index = index
            self.count = count
            self.innerElements = innerElements
        }

        /// Keeps the part from `bytes`, `innerBytes` being `innerElements` in the bytes' type (whole
        /// quantization blocks: `innerElements` must be a multiple of the type's block).
        public func select(_ bytes: [UInt8], innerBytes: Int) -> [UInt8] {
            let stride = innerBytes * count
            guard innerBytes > 0, bytes.count % stride == 0 else { return bytes }
            var kept: [UInt8] = []
            kept.reserveCapacity(bytes.count / count)
            var start = index * innerBytes
            while start < bytes.count {
                kept.append(contentsOf: bytes[start..<(start + innerBytes)])
                start += stride
            }
            return kept
        }
    }

    /// One output tensor: its llama.cpp name and shape, where it comes from, and its transforms.
    public struct Tensor {
        public var name: String
        public var source: TensorInfo
        public var reader: any CheckpointReader
        /// Row-major, outermost first (the source's, size-1 dimensions squeezed as the converters do).
        public var shape: [Int]
        public var rule: TypeRule
        /// convert_hf_to_gguf's RoPE row permutation of q/k with this many heads.
        public var permuteHeads: Int?
        /// Stored as w + 1 (Gemma's RMSNorm weights; written F32).
        public var addOne = false
        /// The part of the source this tensor holds (nil: all of it).
        public var part: Part? = nil
    }

    public var text: [Tensor]
    /// Everything before the tokenizer: `general.*`, `<arch>.*`, `general.quantization_version`.
    public var textMetadata: [MetadataEntry]
    public var mmproj: [Tensor]
    public var mmprojMetadata: [MetadataEntry]
    /// The llama.cpp architecture (`llama`) and projector type (`mlp`) declared.
    public var architecture: String
    public var projectorType: String
    /// Text metadata after the tokenizer's (Gemma's `tokenizer.ggml.add_space_prefix`).
    public var tokenizerSuffix: [MetadataEntry] = []
    /// The byte-level BPE pre-tokenizer to declare instead of the one the tokenizer's hash names
    /// (the user's `--tokenizer-pre`; nil: the converter's choice, or a refusal when unknown).
    public var tokenizerPre: String? = nil
    /// What llama.cpp will run differently from the source although its layout holds the model
    /// (one line each, for the user: e.g. a window size llama.cpp fixes).
    public var warnings: [String] = []

    /// The type `tensor` is written in when `dtype` is asked for (`mmprojF32`: the encoder's f32 file type).
    public static func outputType(of tensor: Tensor, dtype: ConversionOptions.TargetDType, mmprojF32: Bool) -> DType {
        let source = tensor.source.dtype
        let isMatrix = tensor.shape.count >= 2
        switch tensor.rule {
        case .alwaysF16: return isMatrix ? .f16 : .f32
        case .encoder: return !mmprojF32 && isMatrix && tensor.name.hasSuffix(".weight") ? .f16 : .f32
        case .alwaysF32: return .f32
        case .patchEmbedding: return dtype == .f16 || (dtype == .keep && source == .f16) ? .f16 : .f32
        case .converter:
            guard isMatrix else { return .f32 }
            switch dtype {
            case .keep: return source == .f16 || source == .bf16 ? source : .f32
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            case .q8_0, .q4_0:
                guard let row = tensor.shape.last, row % 32 == 0 else { return .f16 }
                return dtype == .q8_0 ? .q8_0 : .q4_0
            }
        }
    }

    /// `general.file_type` (llama_ftype) of a text model written as `dtype`.
    public static func fileType(_ dtype: ConversionOptions.TargetDType, tensors: [Tensor]) -> UInt32 {
        switch dtype {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q8_0: 7
        case .bf16: 32
        case .keep: tensors.contains { $0.source.dtype == .bf16 } ? 32 : tensors.contains { $0.source.dtype == .f16 } ? 1 : 0
        }
    }

    /// Rows `h·hd + 2i + j` of the output are rows `h·hd + j·hd/2 + i` of `bytes` (convert_hf_to_gguf's
    /// `LlamaModel.permute`), rows being `rowBytes` long in any type.
    public static func permuteRows(_ bytes: inout [UInt8], heads: Int, rowBytes: Int) {
        guard heads > 0, rowBytes > 0, bytes.count % rowBytes == 0 else { return }
        let rows = bytes.count / rowBytes
        guard rows % heads == 0, (rows / heads) % 2 == 0 else { return }
        let dim = rows / heads, half = dim / 2
        let source = bytes
        source.withUnsafeBytes { from in
            bytes.withUnsafeMutableBytes { to in
                for h in 0..<heads {
                    for i in 0..<half {
                        for j in 0..<2 {
                            let out = (h * dim + 2 * i + j) * rowBytes, input = (h * dim + j * half + i) * rowBytes
                            to.baseAddress!.advanced(by: out).copyMemory(from: from.baseAddress!.advanced(by: input), byteCount: rowBytes)
                        }
                    }
                }
            }
        }
    }

    /// Adds 1 to every F32 value of `bytes` (convert_hf_to_gguf's `data_torch + 1` for Gemma's
    /// norms), rounding the sum to `source` when the checkpoint held BF16 or F16: torch adds in
    /// the tensor's own type before the F32 output.
    public static func addOne(_ bytes: inout [UInt8], source: DType = .f32) {
        bytes.withUnsafeMutableBytes { raw in
            for i in 0..<(raw.count / 4) {
                var value = Float(bitPattern: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) + 1
                switch source {
                case .bf16:
                    let bits = value.bitPattern
                    value = Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
                case .f16:
                    value = Float(Float16(value))
                default: break
                }
                raw.storeBytes(of: value.bitPattern, toByteOffset: i * 4, as: UInt32.self)
            }
        }
    }

    /// gguf-py's `size_label`: the parameter count rounded to two significant digits at least (`985K`, `7.0B`).
    public static func sizeLabel(parameters: Int) -> String {
        let count = Double(parameters)
        let (scaled, suffix): (Double, String) = count > 1e12 ? (count * 1e-12, "T") : count > 1e9 ? (count * 1e-9, "B")
            : count > 1e6 ? (count * 1e-6, "M") : (count * 1e-3, "K")
        let integerDigits = String(Int(scaled.rounded(.toNearestOrEven))).drop { $0 == "0" }.count
        let fraction = max(2 - integerDigits, 0)
        return formatFixed(scaled, fraction) + suffix
    }

    static func formatFixed(_ value: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded(.toNearestOrEven)
        let whole = Int(rounded) / Int(scale), part = Int(rounded) % Int(scale)
        guard digits > 0 else { return String(Int(rounded)) }
        let text = String(part)
        return "\(whole)." + String(repeating: "0", count: digits - text.count) + text
    }

    /// The name gguf-py's metadata heuristics give a model folder like `demo-llava`: its words capitalised.
    public static func modelName(folder: String) -> String {
        let base = folder.split(separator: "/").last.map(String.init) ?? folder
        return base.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { word in
            word.prefix(1).uppercased() + word.dropFirst()
        }.joined(separator: " ")
    }
}

/// Tensors a converter computes rather than copies (llama.cpp's `rope_freqs.weight`), F32, as a
/// checkpoint the writer reads like any other.
public final class GeneratedTensors: CheckpointReader, @unchecked Sendable {
    public let path = "(generated)"
    public let tensors: [TensorInfo]
    private let values: [String: [UInt8]]

    /// `named` is (name, shape, row-major F32 values).
    public init(_ named: [(name: String, shape: [Int], values: [Float])]) {
        var tensors: [TensorInfo] = [], values: [String: [UInt8]] = [:]
        for (name, shape, floats) in named {
            let bytes = floats.withUnsafeBytes { Array($0) }
            tensors.append(TensorInfo(name: name, dtype: .f32, shape: shape, file: "(generated)", byteRange: 0..<bytes.count))
            values[name] = bytes
        }
        self.tensors = tensors
        self.values = values
    }

    public var format: CheckpointFormat { .gguf }
    public var metadata: [MetadataEntry] { [] }

    public func bytes(of tensor: TensorInfo) throws(CheckpointError) -> TensorBytes {
        TensorBytes(owned: values[tensor.name] ?? [])
    }

    /// The exported tensor (vectors stay F32).
    public var exported: [LlamaCppExport.Tensor] {
        tensors.map { LlamaCppExport.Tensor(name: $0.name, source: $0, reader: self, shape: $0.shape, rule: .converter, permuteHeads: nil) }
    }
}

/// convert_hf_to_gguf's RoPE scaling for a `rope_parameters` (or `rope_scaling`) object: the
/// `<arch>.rope.scaling.*` keys (linear, YaRN) and LLaMA 3's `rope_freqs.weight` factors.
public enum LlamaCppRopeScaling {
    static func text(_ value: JSONValue?) -> String? {
        if case .string(let text)? = value { return text }
        return nil
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let v)?: v
        case .integer(let v)?: Double(v)
        default: nil
        }
    }

    /// The scaling keys `TextModel.set_gguf_parameters` writes before `rope.freq_base`; throws for
    /// what llama.cpp's converter cannot write (dynamic, longrope, a YaRN without its original context).
    public static func metadata(_ rope: JSONValue?, architecture arch: String) throws(LlamaCppExportRefusal) -> [MetadataEntry] {
        let type = text(rope?["rope_type"]) ?? text(rope?["type"])
        let factor = number(rope?["factor"])
        switch type {
        case nil, "default"?, "llama3"?: return []
        case "linear"?:
            guard let factor else { return [] }
            return [.init(key: "\(arch).rope.scaling.type", value: .string("linear")),
                    .init(key: "\(arch).rope.scaling.factor", value: .float32(Float(factor)))]
        case "yarn"?:
            guard let factor else { return [] }
            guard case .integer(let original)? = rope?["original_max_position_embeddings"], original > 0 else {
                throw LlamaCppExportRefusal(reason: "YaRN RoPE scaling without rope_parameters.original_max_position_embeddings (llama.cpp's converter needs it)")
            }
            var entries: [MetadataEntry] = [
                .init(key: "\(arch).rope.scaling.type", value: .string("yarn")),
                .init(key: "\(arch).rope.scaling.factor", value: .float32(Float(factor))),
                .init(key: "\(arch).rope.scaling.original_context_length", value: .uint32(UInt32(clamping: original))),
            ]
            let optional: [(String, Double?)] = [
                ("yarn_ext_factor", number(rope?["extrapolation_factor"])),
                ("yarn_attn_factor", number(rope?["attention_factor"]) ?? number(rope?["attn_factor"])),
                ("yarn_beta_fast", number(rope?["beta_fast"])), ("yarn_beta_slow", number(rope?["beta_slow"])),
            ]
            for (key, value) in optional { if let value { entries.append(.init(key: "\(arch).rope.scaling.\(key)", value: .float32(Float(value)))) } }
            return entries
        case let other?:
            throw LlamaCppExportRefusal(reason: "RoPE scaling '\(TerminalText.escape(other))' has no llama.cpp form this exporter writes (default, linear, llama3, yarn)")
        }
    }

    /// LLaMA 3's per-frequency factors (`LlamaModel.generate_extra_tensors`) for heads of
    /// `headDim`, nil for other scaling. The converter's float32 arithmetic, step by step: the
    /// frequencies `1 / θ^(2i/d)`, wavelengths `2π/f`, factor 1 below `original/high`, `factor`
    /// above `original/low`, else `1 / ((1 − s)/factor + s)` with `s = (original/λ − low)/(high − low)`.
    public static func llama3Factors(_ rope: JSONValue?, headDim: Int) -> [Float]? {
        guard (text(rope?["rope_type"]) ?? text(rope?["type"]))?.lowercased() == "llama3", headDim >= 2 else { return nil }
        let base = number(rope?["rope_theta"]) ?? 10000
        let factor = number(rope?["factor"]) ?? 8, low = number(rope?["low_freq_factor"]) ?? 1, high = number(rope?["high_freq_factor"]) ?? 4
        let original = number(rope?["original_max_position_embeddings"]) ?? 8192
        let lowWavelength = Float(original / low), highWavelength = Float(original / high)
        return stride(from: 0, to: headDim, by: 2).map { i -> Float in
            // θ^(i/d) rounded once from double (torch's float32 pow is within an ulp of it).
            let exponent = Float(i) / Float(headDim)
            let frequency = 1 / Float(pow(Double(Float(base)), Double(exponent)))
            let wavelength = (1 / frequency) * Float(2 * Double.pi)
            if wavelength < highWavelength { return 1 }
            if wavelength > lowWavelength { return Float(factor) }
            let smooth = ((1 / wavelength) * Float(original) - Float(low)) / Float(high - low)
            return 1 / ((1 - smooth) / Float(factor) + smooth)
        }
    }
}

/// Why a model cannot be written in llama.cpp's layout (which part, and what to do).
public struct LlamaCppExportRefusal: Error, Sendable, Equatable {
    public var reason: String
}

/// A model whose family can write it in llama.cpp's layout (its names, transforms and metadata
/// as data). Models of other families are refused by the writer, naming the family.
public protocol LlamaCppExportable: VisionLanguageModel {
    /// Refuses (naming the part) what llama.cpp's layout cannot express, before any file is read
    /// for the export (`folder` holds the model's `config.json`).
    func checkLlamaCppExport(folder: String, dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal)
    /// The model as llama.cpp's converters would write it (`imageMean`/`imageStd` from its image processor).
    func llamaCppExport(folder: String, imageMean: [Float], imageStd: [Float],
                        dtype: ConversionOptions.TargetDType) throws(LlamaCppExportRefusal) -> LlamaCppExport
    /// The image mean and std the mmproj records, from the processor settings in `folder`
    /// (default: its `preprocessor_config.json` as CLIP processors write it).
    func llamaCppImageStatistics(folder: String) throws(CheckpointError) -> (mean: [Float], std: [Float])
}

extension LlamaCppExportable {
    public func llamaCppImageStatistics(folder: String) throws(CheckpointError) -> (mean: [Float], std: [Float]) {
        let preprocessor = try ModelFiles.preprocessorConfig(in: folder)
        return (preprocessor.imageMean.map { Float($0) }, preprocessor.imageStd.map { Float($0) })
    }
}

/// What `inspect` says about a GGUF and llama.cpp: whether it is in llama.cpp's layout, and the
/// architecture (text model) or projector (mmproj) it declares.
public struct LlamaCppLayoutReport: Sendable, Equatable {
    /// Whether llama.cpp's tools can load it (llama.cpp names, an architecture, a tokenizer for text models).
    public var inLayout: Bool
    /// `text` or `mmproj` (nil when the names are not llama.cpp's).
    public var kind: String?
    public var architecture: String?
    public var projectorType: String?
    public var tokenizer: String?

    /// The report of a GGUF (nil for other formats).
    public init?(_ reader: any CheckpointReader) {
        guard reader.format == .gguf else { return nil }
        architecture = reader.metadataValue("general.architecture")?.string
        tokenizer = reader.metadataValue("tokenizer.ggml.model")?.string
        switch WeightLayout.detect(reader) {
        case .llamaCppMMProj:
            kind = "mmproj"
            projectorType = reader.metadataValue("clip.projector_type")?.string
                ?? (reader.metadataValue("clip.has_llava_projector") == .bool(true) ? "mlp" : nil)
            inLayout = architecture != nil
        case .llamaCppText:
            kind = "text"
            inLayout = architecture != nil && tokenizer != nil
        default:
            kind = nil
            inLayout = false
        }
    }

    /// One phrase for the listing.
    public var text: String {
        func show(_ value: String?) -> String { value.map { TerminalText.escape($0) } ?? "(none)" }
        switch kind {
        case "mmproj"?:
            return (inLayout ? "llama.cpp layout" : "not llama.cpp's layout") + ": mmproj, architecture \(show(architecture)), projector \(show(projectorType))"
        case "text"?:
            guard architecture != nil else { return "not llama.cpp's layout: llama.cpp tensor names but no general.architecture" }
            guard tokenizer != nil else { return "not llama.cpp's layout: architecture \(show(architecture)) but no tokenizer.ggml.* metadata" }
            return "llama.cpp layout: text model, architecture \(show(architecture)), tokenizer \(show(tokenizer))"
        default:
            return "not llama.cpp's layout: source tensor names (a --keep-names GGUF; eah-run reads it, llama.cpp cannot)"
        }
    }

    /// `{"in_layout", "kind", "architecture", "projector_type", "tokenizer"}` for `inspect --json`.
    public var json: JSONValue {
        func value(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
        return .object([("in_layout", .bool(inLayout)), ("kind", value(kind)), ("architecture", value(architecture)),
                        ("projector_type", value(projectorType)), ("tokenizer", value(tokenizer))])
    }
}
