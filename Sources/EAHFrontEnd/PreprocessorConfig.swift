import EAHCheckpoint

/// The settings of transformers' `CLIPImageProcessor`, as `preprocessor_config.json` spells
/// them; keys the file omits take the processor's class defaults (CLIP ViT-B/32 at 224; for
/// `LlavaOnevisionImageProcessor`, 384×384 and no center crop).
///
/// `do_convert_rgb` only matters for images with a `transparencyKey` (see `CLIPPreprocessor`):
/// `ImageDecoder` always yields RGB.
public struct PreprocessorConfig: Sendable, Equatable {
    public var doConvertRGB: Bool = true
    public var doResize: Bool = true
    public var size: ResizeTarget = .shortestEdge(224)
    public var resample: ResampleFilter = .bicubic
    public var doCenterCrop: Bool = true
    /// (height, width).
    public var cropHeight: Int = 224
    public var cropWidth: Int = 224
    public var doRescale: Bool = true
    public var rescaleFactor: Double = 1.0 / 255.0
    public var doNormalize: Bool = true
    public var imageMean: [Double] = [0.48145466, 0.4578275, 0.40821073]
    public var imageStd: [Double] = [0.26862954, 0.26130258, 0.27577711]

    /// The class defaults.
    public init() {}

    /// LLaVA-1.5's processor (CLIP ViT-L/14 at 336: llava-hf's `preprocessor_config.json`).
    public static let llava15: PreprocessorConfig = {
        var config = PreprocessorConfig()
        config.size = .shortestEdge(336)
        config.cropHeight = 336
        config.cropWidth = 336
        return config
    }()

    /// Reads `preprocessor_config.json`.
    public init(path: String) throws(CheckpointError) {
        let file = try MappedFile(path: path)
        let json: JSONValue
        do throws(JSONProblem) { json = try JSONParser.parse(file.bytes) } catch { throw CheckpointError(path: path, problem: error) }
        do throws(PreprocessorProblem) { try self.init(json: json) } catch { throw CheckpointError(path: path, problem: error) }
    }

    /// Settings from a parsed `preprocessor_config.json`.
    public init(json: JSONValue) throws(PreprocessorProblem) {
        guard case .object = json else { throw .notAnObject }
        func flag(_ key: String, _ value: inout Bool) throws(PreprocessorProblem) {
            guard let member = json[key], member != .null else { return }
            guard case .bool(let b) = member else { throw .invalidValue(key: key, expected: "true or false") }
            value = b
        }
        func number(_ value: JSONValue?) -> Double? {
            switch value {
            case .integer(let i): Double(i)
            case .number(let d): d
            default: nil
            }
        }
        func side(_ value: JSONValue?, _ key: String) throws(PreprocessorProblem) -> Int {
            guard case .integer(let n) = value, n > 0, n <= 65536 else {
                throw .invalidValue(key: key, expected: "a positive integer up to 65536")
            }
            return n
        }
        func triple(_ key: String) throws(PreprocessorProblem) -> [Double]? {
            guard let member = json[key], member != .null else { return nil }
            if let single = number(member) { return [single, single, single] }
            guard case .array(let items) = member, items.count == 3 else {
                throw .invalidValue(key: key, expected: "a number or an array of 3 numbers")
            }
            var values: [Double] = []
            for item in items {
                guard let v = number(item), v.isFinite else { throw .invalidValue(key: key, expected: "an array of 3 finite numbers") }
                values.append(v)
            }
            return values
        }
        // LlavaOnevisionImageProcessor's class defaults differ from CLIP's: a 384² squash, no crop.
        if case .string(let type)? = json["image_processor_type"], type.hasPrefix("LlavaOnevisionImageProcessor") {
            size = .exact(height: 384, width: 384)
            doCenterCrop = false
        }
        // SiglipImageProcessor (a SigLIP tower's folder, lmms-lab OneVision's tower) squashes to its size, no crop.
        if case .string(let type)? = json["image_processor_type"], type.hasPrefix("SiglipImageProcessor") {
            size = .exact(height: 224, width: 224)
            doCenterCrop = false
        }
        try flag("do_resize", &doResize)
        try flag("do_center_crop", &doCenterCrop)
        try flag("do_rescale", &doRescale)
        try flag("do_normalize", &doNormalize)
        try flag("do_convert_rgb", &doConvertRGB)
        if let member = json["size"], member != .null {
            switch member {
            case .integer:
                size = .shortestEdge(try side(member, "size"))
            case .object:
                if member["longest_edge"] != nil || member["max_height"] != nil {
                    throw .unsupported(key: "size", detail: "a longest_edge or max_height/max_width limit")
                }
                if let edge = member["shortest_edge"] {
                    size = .shortestEdge(try side(edge, "size.shortest_edge"))
                } else if member["height"] != nil || member["width"] != nil {
                    size = .exact(height: try side(member["height"], "size.height"), width: try side(member["width"], "size.width"))
                } else {
                    throw .invalidValue(key: "size", expected: "{\"shortest_edge\": N} or {\"height\": H, \"width\": W}")
                }
            default:
                throw .invalidValue(key: "size", expected: "an integer or an object")
            }
        }
        if let member = json["crop_size"], member != .null {
            switch member {
            case .integer:
                cropHeight = try side(member, "crop_size")
                cropWidth = cropHeight
            case .object:
                cropHeight = try side(member["height"], "crop_size.height")
                cropWidth = try side(member["width"], "crop_size.width")
            default:
                throw .invalidValue(key: "crop_size", expected: "an integer or {\"height\": H, \"width\": W}")
            }
        }
        if let member = json["resample"], member != .null {
            guard case .integer(let code) = member, (0...5).contains(code) else {
                throw .invalidValue(key: "resample", expected: "a Pillow filter number 0–5")
            }
            guard let filter = ResampleFilter(rawValue: code) else {
                throw .unsupported(key: "resample", detail: "nearest-neighbour resampling (0)")
            }
            resample = filter
        }
        if let member = json["rescale_factor"], member != .null {
            guard let factor = number(member), factor.isFinite else { throw .invalidValue(key: "rescale_factor", expected: "a number") }
            rescaleFactor = factor
        }
        if let mean = try triple("image_mean") { imageMean = mean }
        if let std = try triple("image_std") {
            guard std.allSatisfy({ $0 != 0 }) else { throw .invalidValue(key: "image_std", expected: "non-zero") }
            imageStd = std
        }
    }

    /// Settings from a llama.cpp mmproj GGUF: `clip.vision.image_mean`, `clip.vision.image_std`
    /// and `clip.vision.image_size` (shortest edge and crop); bicubic, rescale by 1/255.
    public init(mmproj reader: GGUFReader) throws(CheckpointError) {
        func fail(_ problem: PreprocessorProblem) -> CheckpointError { CheckpointError(path: reader.path, problem: problem) }
        func floats(_ key: String) throws(CheckpointError) -> [Double] {
            guard let value = reader.metadataValue(key) else { throw fail(.missingKey(key)) }
            guard case .array(_, let items) = value, items.count == 3 else { throw fail(.invalidValue(key: key, expected: "an array of 3 floats")) }
            var out: [Double] = []
            for item in items {
                switch item {
                case .float32(let f) where f.isFinite: out.append(Double(f))
                case .float64(let d) where d.isFinite: out.append(d)
                default: throw fail(.invalidValue(key: key, expected: "an array of 3 finite floats"))
                }
            }
            return out
        }
        let sizeKey = "clip.vision.image_size"
        guard let sizeValue = reader.metadataValue(sizeKey) else { throw fail(.missingKey(sizeKey)) }
        guard let side = sizeValue.integer, side > 0, side <= 65536 else {
            throw fail(.invalidValue(key: sizeKey, expected: "a positive integer up to 65536"))
        }
        self.init()
        size = .shortestEdge(side)
        cropHeight = side
        cropWidth = side
        imageMean = try floats("clip.vision.image_mean")
        imageStd = try floats("clip.vision.image_std")
        guard imageStd.allSatisfy({ $0 != 0 }) else { throw fail(.invalidValue(key: "clip.vision.image_std", expected: "non-zero")) }
    }
}
