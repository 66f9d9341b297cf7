import ArgumentParser
import EAHCore
import EAHFrontEnd
import EAHRuntime

/// Options that say where a model's companions are and how to feed it: shared by every command
/// that runs a model.
public struct ModelSourceOptions: ParsableArguments {
    @Option(help: "The CLIP vision tower folder of an original LLaVA release.")
    public var visionTower: String?

    @Option(help: "The mmproj GGUF that goes with a text-model GGUF.")
    public var mmproj: String?

    @Option(help: "A conversation template: a built-in (vicuna_v1, llava_hf, plain), a named template of the model, or a .jinja file; wins over the model's own.")
    public var template: String?

    @Option(help: "Image preprocessing: crop (resize, center crop) or pad (to a square in the mean colour first).")
    public var imageMode: PreprocessMode?

    @Option(name: [.customShort("t"), .long], help: "Worker threads (default: one per core).")
    public var threads: Int?

    public init() {}

    /// Whether any of these options was given (refused where no model is loaded).
    public var given: Bool { visionTower != nil || mmproj != nil || template != nil || imageMode != nil || threads != nil }

    public func validate() throws {
        if visionTower != nil, mmproj != nil { throw ValidationError("--vision-tower and --mmproj exclude each other") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// Refuses companions `model` would ignore: `--mmproj` belongs to a text-model GGUF, while a
    /// model folder brings its own vision tower.
    public func check(model: String) throws {
        var status = stat()
        if mmproj != nil, stat(model, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
            throw ValidationError("--mmproj goes with a text-model GGUF; a model folder brings its own vision tower: drop --mmproj")
        }
    }

    /// Sizes the shared thread pool as `--threads` says.
    public func applyThreads() {
        if let threads { ThreadPool.shared = ThreadPool(threadCount: threads) }
    }

    /// The model with its tokenizer, template and preprocessor, as a run of `source` needs it.
    public func pipeline(_ source: ModelSource) throws -> ModelPipeline {
        applyThreads()
        return try ModelPipeline(model: source.model, visionTower: source.visionTower, mmproj: source.mmproj, templateName: template,
                                 imageMode: imageMode, textOverlay: source.textOverlay)
    }

    /// The model at `model` with its tokenizer, template and preprocessor (no EAH options);
    /// `forEAH` refuses a text-only model (calibration).
    public func pipeline(model: String, forEAH: Bool = false) throws -> ModelPipeline {
        applyThreads()
        return try ModelPipeline(model: model, visionTower: visionTower, mmproj: mmproj, templateName: template, imageMode: imageMode, forEAH: forEAH)
    }
}
