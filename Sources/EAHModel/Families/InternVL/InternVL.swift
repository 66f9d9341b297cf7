import EAHCheckpoint
import EAHCore
import EAHFrontEnd

/// InternVL 2.5 / 3 in the transformers `-hf` layout: InternViT per 448² tile (tiles of the
/// image's closest grid, then a thumbnail), pixel shuffle by `downsample_ratio`, the
/// LayerNorm–Linear–GELU–Linear projector, and a Qwen2 decoder. Each image is
/// `<img>` + `tokensPerTile · tiles` `<IMG_CONTEXT>` + `</img>`; EAH's image columns are the
/// `<IMG_CONTEXT>` positions, never the delimiters. Layouts: transformers `-hf` (`model_type`
/// internvl), the release repositories' `InternVLChatModel` (`model_type` internvl_chat), and
/// llama.cpp's `qwen2` text GGUF with an `internvl` mmproj.
public enum InternVL: ModelFamily {
    public static let name = "internvl"
    public static let modelTypes: Set<String> = ["internvl", originalModelType]
    /// The release layout's `model_type`.
    static let originalModelType = "internvl_chat"

    public static func claims(originalConfig: JSONValue) -> Bool { false }
    public static func claims(mmproj metadata: [MetadataEntry]) -> Bool {
        metadata.first { $0.key == "clip.projector_type" }?.value == .string("internvl")
    }

    /// InternVL's own names for its layouts (`internvl-hf`, `internvl-hf-current`, `internvl-original`).
    public static func layoutDescription(_ layout: WeightLayout, modelType: String?, metadata: [MetadataEntry]) -> String? {
        guard let modelType, modelTypes.contains(modelType) else { return nil }
        if modelType == originalModelType { return InternVLLayout.original.name }
        switch layout {
        case .llavaHF: return InternVLLayout.saved.name
        case .llavaHFCurrent: return InternVLLayout.inMemory.name
        default: return nil
        }
    }

    public static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> any VisionLanguageModel {
        if layout == .llamaCppText {
            guard let mmproj = request.mmproj else {
                throw CheckpointError(path: request.model, problem: ModelProblem.needsCompanion("an InternVL text GGUF needs its mmproj: pass --mmproj"))
            }
            let weights = try InternVLLoader.load(gguf: request.model, mmproj: mmproj, textReader: reader)
            let companions = ModelCompanions(
                family: name, architecture: "qwen2 (gguf)", tokenizer: .ggufMetadata(request.model), preprocessor: .mmproj(mmproj),
                imageMode: "", imageIsToken: true, isGGUF: true,
                bundled: [ModelCompanions.Bundled(kind: .mmproj, reader: try GGUFReader(path: mmproj), files: [])])
            return InternVLModel(weights: weights, companions: companions, pool: pool)
        }
        let configPath = LlavaLoader.configPath(beside: request.model)
        let json = try LlavaLoader.parseJSON(configPath)
        let folder = ModelFiles.folder(of: request.model)
        let config = try InternVLLoader.config(json, path: configPath, folder: folder)
        let weights = try InternVLLoader.load(reader: reader, config: config)
        let companions = ModelCompanions(
            family: name, architecture: LlavaLoader.architecture(json, fallback: "internvl"), tokenizer: .folder(folder),
            preprocessor: .folder(folder), imageMode: "", imageIsToken: true, isGGUF: false, bundled: [])
        return InternVLModel(weights: weights, companions: companions, pool: pool)
    }
}

/// A loaded InternVL model ready to run.
public final class InternVLModel: @unchecked Sendable {
    public let weights: InternVLWeights
    public let pool: ThreadPool
    public let companions: ModelCompanions
    private let vision: InternViT
    let decoder: TransformerDecoder

    public init(weights: InternVLWeights, companions: ModelCompanions? = nil, pool: ThreadPool = .shared) {
        self.weights = weights
        self.pool = pool
        let folder = ModelFiles.folder(of: weights.source.path)
        self.companions = companions ?? ModelCompanions(
            family: InternVL.name, architecture: "InternVLForConditionalGeneration", tokenizer: .folder(folder), preprocessor: .folder(folder),
            imageMode: "", imageIsToken: true, isGGUF: false, bundled: [])
        vision = InternViT(spec: weights.config.vision, weights: weights.vision, pool: pool)
        decoder = TransformerDecoder(spec: weights.config.text, weights: weights.text, pool: pool)
    }

    public var config: InternVLConfig { weights.config }

    /// Tiles in `pixelValues` (whole tiles of `tileLength` values), or a problem naming the sizes.
    func tileCount(_ pixelValues: [Float]) throws(ModelProblem) -> Int {
        let length = config.vision.tileLength
        guard !pixelValues.isEmpty, pixelValues.count % length == 0 else {
            throw .badPixelValues("pixel values hold \(pixelValues.count) floats, not a positive multiple of one \(config.vision.channelCount)×\(config.vision.imageSize)×\(config.vision.imageSize) tile (\(length))")
        }
        return pixelValues.count / length
    }

    /// The projected features (`tiles · tokensPerTile × text hidden`) of an image's tiles: the
    /// tower's last layer without the class token, pixel-shuffled, then the projector.
    public func imageFeatures(pixelValues: [Float]) throws(ModelProblem) -> [Float] {
        let spec = config.vision, tiles = try tileCount(pixelValues)
        let side = spec.patchesPerSide, f = config.shuffleFactor, width = spec.hiddenSize, out = side / f
        var shuffled = [Float](repeating: 0, count: tiles * config.tokensPerTile * config.shuffledWidth)
        pixelValues.withUnsafeBufferPointer { pixels in
            for tile in 0..<tiles {
                let states = vision.lastHiddenState(tile: pixels.baseAddress! + tile * spec.tileLength)
                // transformers' pixel_shuffle (its two transposes cancel): output (i, j)
                // concatenates, for a = 0..<f then b = 0..<f, patch (row f·i + a, column f·j + b).
                for i in 0..<out {
                    for j in 0..<out {
                        let row = tile * config.tokensPerTile + i * out + j
                        for a in 0..<f {
                            for b in 0..<f {
                                let patch = 1 + (f * i + a) * side + (f * j + b)
                                let target = row * config.shuffledWidth + (a * f + b) * width
                                for c in 0..<width { shuffled[target + c] = states[patch * width + c] }
                            }
                        }
                    }
                }
            }
        }
        let rows = tiles * config.tokensPerTile
        var normed = shuffled
        shuffled.withUnsafeBufferPointer { x in
            normed.withUnsafeMutableBufferPointer { y in
                VectorMath.layerNorm(x.baseAddress!, rows: rows, width: config.shuffledWidth, weights: weights.projectorNorm,
                                     eps: InternVLConfig.projectorNormEps, into: y.baseAddress!)
            }
        }
        var hidden = normed.withUnsafeBufferPointer { Linear.apply(weights.projector1, to: $0.baseAddress!, rows: rows, pool: pool) }
        hidden.withUnsafeMutableBufferPointer { VectorMath.activate($0.baseAddress!, count: $0.count, config.projectorActivation) }
        return hidden.withUnsafeBufferPointer { Linear.apply(weights.projector2, to: $0.baseAddress!, rows: rows, pool: pool) }
    }

    /// Token embeddings with each image's features at its run (`images[i]` fills run `i`).
    func inputEmbeddings(_ input: ModelInput, images: ArraySlice<PreparedImage>) throws(ModelProblem) -> [Float] {
        try InputEmbeddings.merge(input, images: images, hidden: config.text.hiddenSize,
                                  features: { _, image throws(ModelProblem) in try imageFeatures(pixelValues: image.pixelValues) },
                                  embed: embed)
    }

    func embed(_ token: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        // Ids are validated by prepare and come from the sampler, so the row exists.
        try? weights.text.embedTokens.dequantizeRow(token, into: destination)
    }
}

extension InternVLModel: ImageRunDecoderModel {
    public var family: String { companions.family }
    public var layoutName: String { weights.layout.name }
    public var shape: DecoderShape { DecoderShape(config.text) }
    public var eosTokenIDs: [Int] { config.eosTokenIDs }
    public var textCheckpoint: any CheckpointReader { weights.source }

    /// q and k rows with their biases (Qwen2's k rows, and bias, are per KV head).
    public func bakeTargets(layer: Int) -> [BakeTarget] {
        let names = weights.layout.text
        return [(Qwen2VLLayout.Role.query, false), (.key, true)].flatMap { role, perKV in
            ["weight", "bias"].map { BakeTarget(name: names.name(role, layer: layer) + "." + $0, perKVHead: perKV) }
        }.filter { weights.source.tensor(named: $0.name) != nil }
    }

    public func makeProcessor(tokenizer: any Tokenizer, imageMode: PreprocessMode?) throws(CheckpointError) -> any InputProcessor {
        let images: GotOcr2ImageProcessor, markers: InternVLImageMarkers
        switch companions.preprocessor {
        case .folder(let folder):
            markers = InternVLImageMarkers(folder: folder)
            if let tiling = config.tiling {
                let path = folder + "/preprocessor_config.json"
                let saved = (try? MappedFile(path: path)) != nil ? try LlavaLoader.parseJSON(path) : nil
                images = try Self.releaseImageProcessor(tiling, mean: saved?["image_mean"], std: saved?["image_std"], path: path)
            } else {
                images = try GotOcr2ImageProcessor(folder: folder)
            }
        case .mmproj(let path):
            markers = InternVLImageMarkers()
            let mmproj = try GGUFReader(path: path)
            func floats(_ key: String) -> JSONValue? {
                guard case .array(_, let items)? = mmproj.metadataValue(key) else { return nil }
                return .array(items.compactMap { if case .float32(let v) = $0 { .number(Double(v)) } else { nil } })
            }
            images = try Self.releaseImageProcessor(config.tiling ?? InternVLTiling(tileSize: config.vision.imageSize, dynamic: true, minTiles: 1, maxTiles: 12),
                                                    mean: floats("clip.vision.image_mean"), std: floats("clip.vision.image_std"), path: path)
        }
        return InternVLInputProcessor(tokenizer: tokenizer, images: images, markers: markers)
    }

    /// The release's `load_image`/`dynamic_preprocess` as a `GotOcr2ImageProcessor`: bicubic tiles
    /// of `tileSize`, the tiling of `config.json` (or the mmproj's tile bounds), the given mean/std
    /// (ImageNet's, which the release hard-codes, when absent). Errors name `path`.
    static func releaseImageProcessor(_ tiling: InternVLTiling, mean: JSONValue?, std: JSONValue?, path: String) throws(CheckpointError) -> GotOcr2ImageProcessor {
        let imagenet: (mean: [Double], std: [Double]) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
        let settings: JSONValue = .object([
            ("size", .object([("height", .integer(tiling.tileSize)), ("width", .integer(tiling.tileSize))])),
            ("crop_to_patches", .bool(tiling.dynamic)), ("min_patches", .integer(tiling.minTiles)), ("max_patches", .integer(tiling.maxTiles)),
            ("resample", .integer(3)), ("do_resize", .bool(true)), ("do_rescale", .bool(true)), ("do_normalize", .bool(true)),
            ("do_convert_rgb", .bool(true)),
            ("image_mean", mean ?? .array(imagenet.mean.map { .number($0) })),
            ("image_std", std ?? .array(imagenet.std.map { .number($0) })),
        ])
        do throws(PreprocessorProblem) { return try GotOcr2ImageProcessor(json: settings) } catch { throw CheckpointError(path: path, problem: error) }
    }

    /// Tiles stored as such: a safetensors F32 `pixel_values` [tiles, 3, size, size], as the
    /// processor returns them (the last of several tiles being the thumbnail).
    public func readPixelValues(_ path: String) throws(CheckpointError) -> PreparedImage {
        let reader = try SafetensorsReader(path: path)
        guard let tensor = reader.tensor(named: "pixel_values") else {
            throw CheckpointError(path: path, problem: ModelProblem.badPixelValues("holds no tensor named 'pixel_values'"))
        }
        let v = config.vision
        guard tensor.dtype == .f32, tensor.shape.count == 4, tensor.shape[0] >= 1,
              Array(tensor.shape.dropFirst()) == [v.channelCount, v.imageSize, v.imageSize] else {
            throw CheckpointError(path: path, problem: ModelProblem.badPixelValues(
                "'pixel_values' is \(tensor.dtype.name) \(tensor.shape); InternVL needs F32 [tiles, \(v.channelCount), \(v.imageSize), \(v.imageSize)]"))
        }
        return PreparedImage(pixelValues: try TensorSource.decode(tensor, of: reader), size: nil)
    }

    /// Expands each image's `<IMG_CONTEXT>` (one, as the processor writes it between `<img>` and
    /// `</img>`, or already `tokensPerTile · tiles` of them) to its features: the tiles' kinds are
    /// `tile` and the thumbnail's `thumbnail`, or `base` for a single tile.
    public func prepare(ids: [Int], images: [PreparedImage]) throws(ModelProblem) -> ModelInput {
        let context = config.imageTokenID, perTile = config.tokensPerTile
        var tokens: [Int] = [], runs: [ImageLayout.Run] = []
        var index = 0, image = 0
        while index < ids.count {
            let id = ids[index]
            guard id == context else {
                guard (0..<config.text.vocabSize).contains(id) else {
                    throw .badInput("token id \(id) at position \(index) is outside the vocabulary (0..<\(config.text.vocabSize))")
                }
                tokens.append(id)
                index += 1
                continue
            }
            var end = index
            while end < ids.count, ids[end] == context { end += 1 }
            guard image < images.count else { throw .badInput("the ids hold more <IMG_CONTEXT> runs than images (\(images.count))") }
            let tiles = try tileCount(images[image].pixelValues), count = tiles * perTile
            guard end - index == 1 || end - index == count else {
                throw .badInput("image \(image) (\(tiles) tiles) needs one <IMG_CONTEXT> or \(count), found a run of \(end - index)")
            }
            var kinds = [ImagePositionKind](repeating: tiles == 1 ? .base : .tile, count: count)
            if tiles > 1 { for i in (count - perTile)..<count { kinds[i] = .thumbnail } }
            runs.append(ImageLayout.Run(start: tokens.count, kinds: kinds))
            tokens += [Int](repeating: context, count: count)
            image += 1
            index = end
        }
        guard image == images.count else { throw .badInput("\(images.count) images but \(image) <IMG_CONTEXT> runs in the ids") }
        let layout = ImageLayout(runs: runs, imageSize: images.first?.size), limit = config.text.rope.maxPositionEmbeddings
        guard tokens.count <= limit else {
            throw .badInput("the prompt needs \(tokens.count) tokens (\(layout.count) for the images) but the model's context is \(limit) "
                            + "(max_position_embeddings); use fewer tiles (the processor's max_patches) or a shorter prompt")
        }
        return ModelInput(tokens: tokens, image: layout)
    }

}

/// The tokens around an image as the tokenizer names them (`start_image_token`, `end_image_token`,
/// `context_image_token` of `tokenizer_config.json`; InternVL's `<img>`, `</img>`, `<IMG_CONTEXT>`
/// otherwise).
struct InternVLImageMarkers: Sendable {
    var start = "<img>"
    var end = "</img>"
    var context = "<IMG_CONTEXT>"

    init() {}

    init(folder: String) {
        guard let json = try? LlavaLoader.parseJSON(folder + "/tokenizer_config.json") else { return }
        if case .string(let value)? = json["start_image_token"] { start = value }
        if case .string(let value)? = json["end_image_token"] { end = value }
        if case .string(let value)? = json["context_image_token"] { context = value }
    }
}

/// InternVL's inputs: the chat template writes one `<IMG_CONTEXT>` per image, which becomes
/// `<img><IMG_CONTEXT></img>` before tokenizing (the model's `prepare` expands the context token
/// to the image's tile count, as `InternVLProcessor` does); pictures go through
/// `GotOcr2ImageProcessor`.
struct InternVLInputProcessor: InputProcessor {
    let tokenizer: any Tokenizer
    let images: GotOcr2ImageProcessor
    let markers: InternVLImageMarkers

    func encode(_ text: String, addBOS: Bool) -> [Int] {
        let wrapped = text.replacing(markers.context, with: markers.start + markers.context + markers.end)
        return tokenizer.encode(wrapped, addBOS: addBOS)
    }

    func prepare(_ image: RGBImage, origin: String) throws(CheckpointError) -> PreparedImage {
        PreparedImage(pixelValues: images.preprocess(image).values, size: ImageSize(height: image.height, width: image.width))
    }
}
