import ArgumentParser
import EAHCore
import EAHFrontEnd
import EAHRuntime

extension PreprocessMode: ExpressibleByArgument {}

/// Options that say where a model's companions are and how to feed it.
struct ModelSourceOptions: ParsableArguments {
    @Option(help: "The CLIP vision tower folder of an original LLaVA release.")
    var visionTower: String?

    @Option(help: "The mmproj GGUF that goes with a text-model GGUF.")
    var mmproj: String?

    @Option(help: "A built-in conversation template (vicuna_v1, llava_hf, plain) when the model names none.")
    var template: String?

    @Option(help: "Image preprocessing: crop or pad.")
    var imageMode: PreprocessMode?

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    func validate() throws {
        if visionTower != nil, mmproj != nil { throw ValidationError("--vision-tower and --mmproj exclude each other") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func pipeline(model: String) throws -> LlavaPipeline {
        if let threads { ThreadPool.shared = ThreadPool(threadCount: threads) }
        return try LlavaPipeline(model: model, visionTower: visionTower, mmproj: mmproj, templateName: template, imageMode: imageMode)
    }
}
