import ArgumentParser
import EAH
import EAHCheckpoint
import EAHCommandLine
import EAHCore
import EAHFrontEnd
import EAHModel
import EAHRuntime

extension PreprocessMode: ExpressibleByArgument {}
extension EAHLayerPatch.Phase: ExpressibleByArgument {}

/// `eah-run`: answer a question about an image with a LLaVA model, or run it on raw token ids
/// and pixel values.
///
/// Exit status: 0 on success, 1 for bad input (a malformed or mismatched file), 2 for bad
/// usage.
@main
struct EAHRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eah-run",
        abstract: "Run a LLaVA model (llava-hf, original LLaVA, or llama.cpp GGUF + mmproj).",
        discussion: """
            Either --image IMG --prompt TEXT (the answer streams as it is generated), or the raw \
            entry point --input-ids IDS --pixel-values PV.safetensors.
            """
    )

    @Argument(help: "An EAH bundle, a model folder, checkpoint file, index file, or text-model GGUF.")
    var model: String

    @Flag(help: "Run without EAH (a bundle's original model).")
    var noEah = false

    @Option(help: "Apply dynamic EAH at these decoder layers of a plain model (experiments), e.g. 1 or 0,1.")
    var eahLayer: String?

    @Option(help: "The sink threshold β for --eah-layer.")
    var eahBeta = 0.002

    @Option(help: "prefill (the paper) or all (decode steps too), for --eah-layer.")
    var eahPhase: EAHLayerPatch.Phase = .prefill

    @Option(help: "The CLIP vision tower folder of an original LLaVA release.")
    var visionTower: String?

    @Option(help: "The mmproj GGUF that goes with a text-model GGUF.")
    var mmproj: String?

    @Option(help: "A JPEG or PNG image to ask about.")
    var image: String?

    @Option(help: "The question about the image.")
    var prompt: String?

    @Option(help: "A system prompt, where the conversation template has one.")
    var systemPrompt: String?

    @Option(help: "A built-in conversation template (vicuna_v1, llava_hf, plain) when the model names none.")
    var template: String?

    @Option(help: "Image preprocessing: crop (resize, center crop) or pad (to a square in the mean colour first).")
    var imageMode: PreprocessMode?

    @Option(help: "Comma-separated token ids; a single -200 stands for the image's feature tokens.")
    var inputIds: String?

    @Option(help: "A safetensors file holding the F32 tensor pixel_values [1, 3, H, W].")
    var pixelValues: String?

    @Option(help: "Write the F32 tensor logits [positions, vocab] to this safetensors file.")
    var logitsOut: String?

    @Option(help: "Tokens to generate (0: prefill only).")
    var maxTokens = 256

    @Option(help: "Sampling temperature (0: greedy).")
    var temperature: Float = 0

    @Option(help: "Nucleus sampling threshold.")
    var topP: Float = 1

    @Option(help: "Seed for sampling.")
    var seed: UInt64 = 0

    @Option(help: "Worker threads (default: one per core).")
    var threads: Int?

    @Flag(help: "Overwrite --logits-out if it exists.")
    var force = false

    @Flag(help: "Print one JSON document ({\"schema\": 1, ...}) instead of streaming.")
    var json = false

    func validate() throws {
        if visionTower != nil, mmproj != nil { throw ValidationError("--vision-tower and --mmproj exclude each other") }
        let frontEnd = image != nil || prompt != nil, raw = inputIds != nil || pixelValues != nil
        guard frontEnd != raw else {
            throw ValidationError("give either --image and --prompt, or --input-ids and --pixel-values")
        }
        if frontEnd, image == nil || prompt == nil { throw ValidationError("--image and --prompt go together") }
        if raw, inputIds == nil || pixelValues == nil { throw ValidationError("--input-ids and --pixel-values go together") }
        if raw, template != nil || imageMode != nil || systemPrompt != nil {
            throw ValidationError("--template, --image-mode and --system-prompt apply to --image/--prompt only")
        }
        if let eahLayer, LayerList.parse(eahLayer) == nil { throw ValidationError("--eah-layer '\(eahLayer)' is not like 1 or 0,1") }
        if eahLayer != nil, noEah { throw ValidationError("--eah-layer and --no-eah exclude each other") }
        if !(eahBeta > 0 && eahBeta < 1) { throw ValidationError("--eah-beta must be in (0, 1)") }
        if maxTokens < 0 { throw ValidationError("--max-tokens must be 0 or more") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if temperature < 0 { throw ValidationError("--temperature must be 0 or more") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        if let threads { ThreadPool.shared = ThreadPool(threadCount: threads) }
        let source = try ModelSource(path: model, visionTower: visionTower, mmproj: mmproj, noEAH: noEah,
                                     dynamicLayers: eahLayer.flatMap(LayerList.parse) ?? [], beta: eahBeta, phase: eahPhase)
        if let inputIds, let pixelValues {
            try runRaw(source, ids: try Self.parseIDs(inputIds), pixelPath: pixelValues)
        } else if let image, let prompt {
            try runQuestion(source, image: image, question: prompt)
        }
    }

    /// The raw entry point: ids and pixel values as given.
    private func runRaw(_ source: ModelSource, ids: [Int], pixelPath: String) throws {
        let llava = LlavaModel(weights: try source.load())
        try source.validate(against: llava.config)
        let prompt: LlavaPrompt
        do throws(ModelProblem) {
            prompt = try LlavaPrompt.fromRawIDs(ids, config: llava.config)
        } catch {
            throw CheckpointError(path: model, problem: error)
        }
        let pixels = try PixelValuesFile.read(pixelPath, config: llava.config.vision)
        let result = try generate(llava, prompt: prompt, pixels: pixels, stopTokens: Set(llava.config.text.eosTokenIDs), hook: source.hook) { token in
            if !json { StandardStream.output.write("\(token) ") }
        }
        if json {
            print(JSONValue.object([("schema", .integer(1)), ("tokens", .array(result.tokens.map(JSONValue.integer)))]).serialized)
        } else {
            print()
        }
    }

    /// The front-end entry point: the answer to a question about an image, streamed as text.
    private func runQuestion(_ source: ModelSource, image: String, question: String) throws {
        let pipeline = try LlavaPipeline(model: source.model, visionTower: source.visionTower, mmproj: source.mmproj, templateName: template,
                                         imageMode: imageMode, textOverlay: source.textOverlay)
        try source.validate(against: pipeline.config)
        let prompt = try pipeline.prompt(question: question, systemPrompt: systemPrompt)
        let pixels = try pipeline.pixelValues(image: image)
        var stream = TextStream(tokenizer: pipeline.tokenizer)
        let result = try generate(pipeline.model, prompt: prompt, pixels: pixels, stopTokens: pipeline.stopTokens, hook: source.hook) { token in
            if !json { StandardStream.output.write(stream.append(token)) }
        }
        let answerIDs = result.tokens.filter { !pipeline.stopTokens.contains($0) }
        let text = (try? pipeline.tokenizer.decode(answerIDs)) ?? ""
        if json {
            print(JSONValue.object([
                ("schema", .integer(1)), ("prompt_tokens", .integer(result.promptLength)),
                ("tokens", .array(result.tokens.map(JSONValue.integer))), ("text", .string(text)),
            ]).serialized)
        } else {
            StandardStream.output.write(stream.finish() + "\n")
        }
    }

    private func generate(_ llava: LlavaModel, prompt: LlavaPrompt, pixels: [Float], stopTokens: Set<Int>, hook: EAHAttentionHook?,
                          onToken: (Int) -> Void) throws -> GenerationResult {
        let result: GenerationResult
        do throws(ModelProblem) {
            result = try llava.generate(
                prompt: prompt, pixelValues: pixels, maxTokens: maxTokens,
                sampling: SamplingParameters(temperature: temperature, topP: topP, seed: seed),
                stopTokens: stopTokens, hook: hook, collectLogits: logitsOut != nil, onToken: onToken)
        } catch {
            throw CheckpointError(path: model, problem: error)
        }
        if let logitsOut, let logits = result.logits {
            let vocab = llava.config.text.vocabSize
            let writer = try SafetensorsWriter(path: logitsOut, overwrite: force,
                                               tensors: [TensorPlan(name: "logits", dtype: .f32, shape: [logits.count / vocab, vocab])])
            try logits.withUnsafeBytes { try writer.write($0) }
            try writer.finish()
        }
        return result
    }

    static func parseIDs(_ text: String) throws -> [Int] {
        var ids: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let id = Int(part.filter { $0 != " " }) else {
                throw ValidationError("--input-ids: '\(part)' is not an integer; pass comma-separated ids like 1,-200,319")
            }
            ids.append(id)
        }
        return ids
    }

    static func main() {
        runAndExit(toolName: "eah-run")
    }
}
