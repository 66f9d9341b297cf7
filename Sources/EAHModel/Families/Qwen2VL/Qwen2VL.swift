import EAHCheckpoint
import EAHCore
import EAHFrontEnd

/// Qwen2-VL and Qwen2.5-VL: a rotary ViT read at the image's own resolution with a 2×2 merger,
/// and a Qwen2 decoder with M-RoPE. Each image is one run of `<|image_pad|>` positions, as many
/// as its merged patches. Layouts: transformers folders (`qwen2-vl-hf`, `qwen2-vl-hf-current`),
/// llama.cpp's text GGUF with a `qwen2vl_merger` / `qwen2.5vl_merger` mmproj.
public enum Qwen2VL: ModelFamily {
    public static let name = "qwen2-vl"
    public static let modelTypes: Set<String> = ["qwen2_vl", "qwen2_5_vl"]

    public static func claims(originalConfig: JSONValue) -> Bool { false }

    public static func claims(mmproj metadata: [MetadataEntry]) -> Bool {
        guard let entry = metadata.first(where: { $0.key == "clip.projector_type" }), case .string(let type) = entry.value else { return false }
        return type == "qwen2vl_merger" || type == "qwen2.5vl_merger"
    }

    public static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> any VisionLanguageModel {
        switch layout {
        case .qwen2VLHF, .qwen2VLHFCurrent:
            let configPath = LlavaLoader.configPath(beside: request.model)
            let json = try LlavaLoader.parseJSON(configPath)
            let config: Qwen2VLConfig
            do throws(ModelProblem) { config = try Qwen2VLConfigReader.read(json) } catch { throw CheckpointError(path: configPath, problem: error) }
            let weights = try Qwen2VLLoader.load(reader: reader, config: config)
            let folder = ModelFiles.folder(of: request.model)
            let companions = ModelCompanions(
                family: familyName(config.variant), architecture: LlavaLoader.architecture(json, fallback: config.variant.rawValue),
                tokenizer: .folder(folder), preprocessor: .folder(folder), imageMode: "", imageIsToken: true, isGGUF: false, bundled: [])
            return Qwen2VLModel(weights: weights, companions: companions, pool: pool)
        case .llamaCppText:
            guard let mmproj = request.mmproj else {
                throw CheckpointError(path: request.model, problem: ModelProblem.needsCompanion("a Qwen2-VL text GGUF needs its mmproj: pass --mmproj"))
            }
            let weights = try Qwen2VLLoader.load(gguf: request.model, mmproj: mmproj, textReader: reader)
            let companions = ModelCompanions(
                family: familyName(weights.config.variant), architecture: "qwen2vl (gguf)", tokenizer: .ggufMetadata(request.model),
                preprocessor: .mmproj(mmproj), imageMode: "", imageIsToken: true, isGGUF: true,
                bundled: [ModelCompanions.Bundled(kind: .mmproj, reader: try GGUFReader(path: mmproj), files: [])])
            return Qwen2VLModel(weights: weights, companions: companions, pool: pool)
        default:
            throw CheckpointError(path: request.model, problem: ModelProblem.unsupportedLayout(
                "config.json names a Qwen2-VL model, but the tensors are in the \(layout.rawValue) layout (expected model.*/visual.* or model.language_model.*/model.visual.*)"))
        }
    }

    /// `qwen2-vl` or `qwen2.5-vl`, as manifests record the family.
    static func familyName(_ variant: Qwen2VLConfig.Variant) -> String {
        variant == .qwen25VL ? "qwen2.5-vl" : name
    }
}

extension Qwen2VLModel: ImageRunDecoderModel {
    public var family: String { companions.family }
    public var layoutName: String {
        switch weights.layout.name {
        case Qwen2VLLayout.hub.name: WeightLayout.qwen2VLHF.rawValue
        case Qwen2VLLayout.inMemory.name: WeightLayout.qwen2VLHFCurrent.rawValue
        default: WeightLayout.llamaCppText.rawValue
        }
    }
    public var shape: DecoderShape { DecoderShape(config.text) }
    public var eosTokenIDs: [Int] { config.eosTokenIDs }
    public var textCheckpoint: any CheckpointReader { weights.source }

    /// q and k rows with their biases; Qwen2's k rows (and bias) are per KV head.
    public func bakeTargets(layer: Int) -> [BakeTarget] {
        let layout = weights.layout
        return [(Qwen2VLLayout.Role.query, false), (.key, true)].flatMap { role, perKV in
            ["weight", "bias"].map { BakeTarget(name: layout.name(role, layer: layer) + "." + $0, perKVHead: perKV) }
        }.filter { weights.source.tensor(named: $0.name) != nil }
    }

    public func makeProcessor(tokenizer: any Tokenizer, imageMode: PreprocessMode?) throws(CheckpointError) -> any InputProcessor {
        if let imageMode {
            throw CheckpointError(path: textCheckpoint.path, problem: ModelProblem.badInput(
                "--image-mode \(imageMode.rawValue) does not apply to Qwen2-VL, which resizes each image to its own patch grid; drop the flag"))
        }
        let images: Qwen2VLImageProcessor
        switch companions.preprocessor {
        case .folder(let folder):
            images = try Qwen2VLImageProcessor(folder: folder)
        case .mmproj(_) where Self.hasProcessorSettings(beside: textCheckpoint.path):
            // transformers' processor settings beside the GGUF (as a bundle carries them) win.
            images = try Qwen2VLImageProcessor(folder: ModelFiles.folder(of: textCheckpoint.path))
        case .mmproj(let file):
            // llama.cpp's mmproj holds mean and std; the pixel limits are the processor's defaults.
            var processor = Qwen2VLImageProcessor()
            let base = try PreprocessorConfig(mmproj: try GGUFReader(path: file))
            processor.base.imageMean = base.imageMean
            processor.base.imageStd = base.imageStd
            processor.patchSize = config.vision.patchSize
            processor.mergeSize = config.vision.mergeSize
            processor.temporalPatchSize = config.vision.temporalPatchSize
            images = processor
        }
        return Qwen2VLInputProcessor(tokenizer: tokenizer, images: images)
    }

    /// Qwen2-VL's patches come with their grid, which a bare `pixel_values` tensor lacks.
    public func readPixelValues(_ path: String) throws(CheckpointError) -> PreparedImage {
        throw CheckpointError(path: path, problem: ModelProblem.badPixelValues(
            "Qwen2-VL reads each image at its own resolution, so bare pixel values lack the patch grid; pass --image and --prompt instead"))
    }

    private static func hasProcessorSettings(beside path: String) -> Bool {
        let folder = ModelFiles.folder(of: path)
        return ModelFiles.exists(folder + "/preprocessor_config.json") || ModelFiles.exists(folder + "/processor_config.json")
    }

    /// Expands each image's `<|image_pad|>` to its merged patch count and computes M-RoPE's rows.
    public func prepare(ids: [Int], images: [PreparedImage]) throws(ModelProblem) -> ModelInput {
        var grids: [PatchGrid] = []
        for (index, image) in images.enumerated() {
            guard let grid = image.grid else { throw .badInput("image \(index) has no patch grid: Qwen2-VL images come from its own processor") }
            grids.append(grid)
        }
        let prompt = try Qwen2VLPrompt.make(ids: ids, grids: grids, config: config)
        return ModelInput(tokens: prompt.tokens, image: prompt.image, positionRows: prompt.positionRows)
    }

}

/// Qwen2-VL's inputs: the chat template writes `<|vision_start|><|image_pad|><|vision_end|>` per
/// image and the whole text is tokenized; pictures go through `Qwen2VLImageProcessor`.
struct Qwen2VLInputProcessor: InputProcessor {
    let tokenizer: any Tokenizer
    let images: Qwen2VLImageProcessor

    func encode(_ text: String, addBOS: Bool) -> [Int] {
        tokenizer.encode(text, addBOS: addBOS)
    }

    func prepare(_ image: RGBImage, origin: String) throws(CheckpointError) -> PreparedImage {
        let output: Qwen2VLImageProcessor.Output
        do throws(PreprocessorProblem) { output = try images.preprocess(image) } catch {
            throw CheckpointError(path: origin, problem: error)
        }
        return PreparedImage(pixelValues: output.values, size: ImageSize(height: image.height, width: image.width),
                             grid: PatchGrid(t: output.t, h: output.h, w: output.w))
    }
}
