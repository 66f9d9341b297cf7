import EAHCheckpoint
import EAHCore

/// A model family: one folder holding its config reader, weight naming, towers, processor and
/// image layout, registered in `ModelFamilies`. Runtime, bundle and EAH code never name a family.
public protocol ModelFamily: Sendable {
    /// The family's name as manifests and reports record it (`llava-1.5`).
    static var name: String { get }
    /// `model_type` values of a Hugging Face `config.json` that belong to the family.
    static var modelTypes: Set<String> { get }
    /// Whether an original-release `config.json` or a GGUF mmproj's metadata belongs to the
    /// family (layouts without a `model_type`).
    static func claims(originalConfig: JSONValue) -> Bool
    static func claims(mmproj metadata: [MetadataEntry]) -> Bool
    /// Loads the model from a checkpoint whose layout is already known, ready to run on `pool`.
    static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> any VisionLanguageModel
    /// What `inspect` reports as the layout of a checkpoint of this family: its naming, with how
    /// images are packed where the layout implies it (`modelType` from `config.json`, `metadata`
    /// the checkpoint's own, e.g. an mmproj's `clip.*` keys). Nil when the checkpoint is not this
    /// family's or the shared layout name says it all.
    static func layoutDescription(_ layout: WeightLayout, modelType: String?, metadata: [MetadataEntry]) -> String?
}

extension ModelFamily {
    public static func layoutDescription(_ layout: WeightLayout, modelType: String?, metadata: [MetadataEntry]) -> String? { nil }
}

/// What to load: the model path and the companions a user passed.
public struct ModelRequest: Sendable {
    public var model: String
    public var visionTower: String?
    public var mmproj: String?
    /// A checkpoint whose tensors replace the text model's same-named ones (a baked bundle's
    /// original q/k rows, for running it without EAH).
    public var textOverlay: String?

    public init(model: String, visionTower: String? = nil, mmproj: String? = nil, textOverlay: String? = nil) {
        self.model = model
        self.visionTower = visionTower
        self.mmproj = mmproj
        self.textOverlay = textOverlay
    }
}

/// The registry: the one place that tells which family a checkpoint belongs to.
public enum ModelFamilies {
    /// Every supported family, in detection order.
    public static let all: [any ModelFamily.Type] = [LlavaNext.self, LlavaOnevision.self, Qwen2VL.self, InternVL.self, Gemma3.self, TextOnly.self, Llava15.self]

    /// Opens `request.model`, detects its layout and family, and loads it, ready to run on `pool`.
    ///
    /// Hugging Face layouts are told apart by `config.json`'s `model_type`; the original release
    /// by its `config.json` (`image_aspect_ratio`, `mm_patch_merge_type`); GGUF by the mmproj's
    /// metadata (`clip.*`, the projector type). Layouts that are not a whole model are refused by
    /// the family tables.
    public static func load(_ request: ModelRequest, pool: ThreadPool = .shared) throws(CheckpointError) -> any VisionLanguageModel {
        var reader = try Checkpoint.open(request.model)
        if let overlay = request.textOverlay { reader = try OverlayCheckpoint(base: reader, overlay: try Checkpoint.open(overlay)) }
        let layout = WeightLayout.detect(reader)
        let family = try family(of: request, layout: layout)
        return try family.load(request, reader: reader, layout: layout, pool: pool)
    }

    /// The family a model in `layout` belongs to.
    static func family(of request: ModelRequest, layout: WeightLayout) throws(CheckpointError) -> any ModelFamily.Type {
        switch WeightNameTable.layouts[layout]?.config {
        case .huggingFace?:
            let path = LlavaLoader.configPath(beside: request.model)
            let json = try LlavaLoader.parseJSON(path)
            guard case .string(let type)? = json["model_type"] else { return Llava15.self }
            if let index = index(modelType: type) { return all[index] }
            let known = all.flatMap { $0.modelTypes }.sorted().joined(separator: ", ")
            throw CheckpointError(path: path, problem: ModelProblem.badConfig(field: "model_type", reason: "is '\(TerminalText.escape(type))'; supported: \(known)"))
        case .originalWithTower?:
            let json = try LlavaLoader.parseJSON(LlavaLoader.configPath(beside: request.model))
            return all[index(originalConfig: json)]
        case .gguf?:
            // A text GGUF without its mmproj is a text-only model.
            return request.mmproj == nil ? TextOnly.self : all[index(mmproj: request.mmproj)]
        case nil:
            // Layouts outside LLaVA's name table (Qwen2-VL's) say what they are in config.json.
            if let json = try? LlavaLoader.parseJSON(LlavaLoader.configPath(beside: request.model)),
               case .string(let type)? = json["model_type"], let index = index(modelType: type) {
                return all[index]
            }
            return Llava15.self
        }
    }

    private static func index(modelType: String) -> Int? {
        all.firstIndex { $0.modelTypes.contains(modelType) }
    }

    /// The first family claiming the config; the last (LLaVA-1.5, which claims every one) otherwise.
    private static func index(originalConfig json: JSONValue) -> Int {
        all.firstIndex { $0.claims(originalConfig: json) } ?? all.count - 1
    }

    private static func index(mmproj path: String?) -> Int {
        guard let path, let reader = try? GGUFReader(path: path) else { return all.count - 1 }
        return all.firstIndex { $0.claims(mmproj: reader.metadata) } ?? all.count - 1
    }

    /// What `inspect` reports as a checkpoint's layout: the first family's description of it
    /// (for LLaVA-NeXT, with the image packing that layout implies), else the layout's name.
    public static func layoutDescription(_ reader: any CheckpointReader) -> String {
        let layout = WeightLayout.detect(reader)
        var modelType: String?
        if let json = try? LlavaLoader.parseJSON(LlavaLoader.configPath(beside: reader.path)), case .string(let type)? = json["model_type"] {
            modelType = type
        }
        return all.lazy.compactMap { $0.layoutDescription(layout, modelType: modelType, metadata: reader.metadata) }.first ?? layout.rawValue
    }
}

/// Where a loaded model's inputs and companion files come from, decided by its family and layout
/// when it loads, so that runtime code (pipeline, bundles) reads data instead of switching over
/// layouts.
public struct ModelCompanions: @unchecked Sendable {
    public enum TokenizerSource: Sendable, Equatable {
        /// `tokenizer.json` or `tokenizer.model` in this folder.
        case folder(String)
        /// `tokenizer.ggml.*` metadata of this GGUF.
        case ggufMetadata(String)
    }

    public enum PreprocessorSource: Sendable, Equatable {
        /// `preprocessor_config.json` (or `processor_config.json`) in this folder.
        case folder(String)
        /// The mean/std/size keys of this mmproj GGUF.
        case mmproj(String)
    }

    /// A checkpoint besides the text model that a bundle carries along.
    public struct Bundled {
        public var kind: WeightNameTable.Companion.Kind
        public var reader: any CheckpointReader
        /// Files of the companion's folder copied beside its weights (vision tower configs).
        public var files: [String]
    }

    /// The family's name (`llava-1.5`).
    public var family: String
    /// `architectures[0]` (else `model_type`) of config.json; for GGUF, the architectures.
    public var architecture: String
    public var tokenizer: TokenizerSource
    public var preprocessor: PreprocessorSource
    /// The image preprocessing the model was trained with: `pad` or `crop` (`PreprocessMode`);
    /// empty for families without modes (Qwen2-VL resizes each image to its own grid).
    public var imageMode: String
    /// Whether `<image>` is a token of the vocabulary (llava-hf) or a text marker split around
    /// (original LLaVA's `tokenizer_image_token`, llama.cpp).
    public var imageIsToken: Bool
    /// The weights are GGUF and stay GGUF in bundles (their hyperparameters live in metadata).
    public var isGGUF: Bool
    public var bundled: [Bundled]
}
