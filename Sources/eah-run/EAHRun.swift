import ArgumentParser
import EAHCheckpoint
import EAHCore
import EAHCommandLine
import EAHModel
#if canImport(Glibc)
import Glibc
#endif

/// `eah-run`: run a LLaVA model on raw token ids and pixel values.
///
/// Exit status: 0 on success, 1 for bad input (a malformed or mismatched file), 2 for bad
/// usage.
@main
struct EAHRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eah-run",
        abstract: "Run a LLaVA model (llava-hf, original LLaVA, or llama.cpp GGUF + mmproj) on token ids and pixel values."
    )

    @Argument(help: "A model folder, checkpoint file, index file, or text-model GGUF.")
    var model: String

    @Option(help: "The CLIP vision tower folder of an original LLaVA release.")
    var visionTower: String?

    @Option(help: "The mmproj GGUF that goes with a text-model GGUF.")
    var mmproj: String?

    @Option(help: "Comma-separated token ids; a single -200 stands for the image's feature tokens.")
    var inputIds: String

    @Option(help: "A safetensors file holding the F32 tensor pixel_values [1, 3, H, W].")
    var pixelValues: String

    @Option(help: "Write the F32 tensor logits [positions, vocab] to this safetensors file.")
    var logitsOut: String?

    @Option(help: "Tokens to generate (0: prefill only).")
    var maxTokens = 32

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

    @Flag(help: "Print {\"schema\": 1, \"tokens\": [...]}.")
    var json = false

    func validate() throws {
        if visionTower != nil, mmproj != nil { throw ValidationError("--vision-tower and --mmproj exclude each other") }
        if maxTokens < 0 { throw ValidationError("--max-tokens must be 0 or more") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if temperature < 0 { throw ValidationError("--temperature must be 0 or more") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
    }

    func run() throws {
        let ids = try parseIDs()
        if let threads { ThreadPool.shared = ThreadPool(threadCount: threads) }
        let weights = try LlavaLoader.load(model: model, visionTower: visionTower, mmproj: mmproj)
        let llava = LlavaModel(weights: weights)
        let prompt: LlavaPrompt
        do throws(ModelProblem) {
            prompt = try LlavaPrompt.fromRawIDs(ids, config: llava.config)
        } catch {
            throw CheckpointError(path: model, problem: error)
        }
        let pixels = try PixelValuesFile.read(pixelValues, config: llava.config.vision)
        let result: GenerationResult
        do throws(ModelProblem) {
            result = try llava.generate(
                prompt: prompt, pixelValues: pixels, maxTokens: maxTokens,
                sampling: SamplingParameters(temperature: temperature, topP: topP, seed: seed),
                stopTokens: Set(llava.config.text.eosTokenIDs), collectLogits: logitsOut != nil,
                onToken: { token in if !json { StandardStream.output.write("\(token) ") } })
        } catch {
            throw CheckpointError(path: model, problem: error)
        }
        if let logitsOut, let logits = result.logits {
            let rows = logits.count / llava.config.text.vocabSize
            let writer = try SafetensorsWriter(path: logitsOut, overwrite: force,
                                               tensors: [TensorPlan(name: "logits", dtype: .f32, shape: [rows, llava.config.text.vocabSize])])
            try logits.withUnsafeBytes { try writer.write($0) }
            try writer.finish()
        }
        if json {
            print(JSONValue.object([("schema", .integer(1)), ("tokens", .array(result.tokens.map(JSONValue.integer)))]).serialized)
        } else {
            print()
        }
    }

    private func parseIDs() throws -> [Int] {
        let parts = inputIds.split(separator: ",", omittingEmptySubsequences: false)
        var ids: [Int] = []
        for part in parts {
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
