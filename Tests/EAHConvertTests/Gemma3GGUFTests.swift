import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// Gemma 3 from llama.cpp's files (tools/make_gemma3_gguf_fixtures.py): the `gemma3` text GGUF and
/// `gemma3` mmproj that llama.cpp's convert_hf_to_gguf.py writes from a tiny transformers Gemma 3
/// (SentencePiece tokenizer, norms stored as w + 1, the input projection as F16), against
/// transformers' eager logits of the same model.
@Suite("Gemma 3 from llama.cpp's GGUF")
struct Gemma3GGUFTests {
    static let base = Fixtures.path("gemma3-gguf/")
    static let text = base + "text-f32.gguf", mmproj = base + "mmproj-f32.gguf"
    static let expected = "../gemma3-gguf/expected.safetensors"

    static func facts() throws -> JSONValue {
        let file = try MappedFile(path: base + "facts.json")
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    static func image(_ k: Int) throws -> (path: String, question: String) {
        guard case .array(let images)? = try facts()["images"], case .string(let file)? = images[k]["file"],
              case .string(let question)? = images[k]["question"] else { throw CheckpointError(path: "facts.json", problem: ModelProblem.badInput("no image \(k)")) }
        return (Fixtures.path("images/valid/\(file)"), question)
    }

    static func ints(_ value: JSONValue?) -> [Int] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
    }

    /// eah-run's logits and tokens (5 new tokens) for image `k`.
    static func run(_ model: [String], image k: Int, extra: [String] = []) throws -> (logits: [Float], tokens: [Int]) {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let (path, question) = try image(k)
        let result = try CommandRunner.run("eah-run", model + ["--image", path, "--prompt", question, "--max-tokens", "5", "--logits-out", out, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let reader = try SafetensorsReader(path: out)
        let tensor = try #require(reader.tensor(named: "logits"))
        let logits = try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (logits, ints(document["tokens"]))
    }

    @Test("pixel values and ids equal the reference's; eah-run's prompt and decode logits and greedy tokens equal transformers'", arguments: 0..<2)
    func matchesTransformers(_ k: Int) throws {
        let pipeline = try ModelPipeline(model: Self.text, mmproj: Self.mmproj)
        #expect(pipeline.model.family == "gemma3" && pipeline.model.companions.isGGUF && pipeline.model.layoutName == "llama.cpp-text")
        let (path, question) = try Self.image(k)
        let (prompt, images) = try pipeline.inputs(question: question, image: path)
        #expect(images[0].pixelValues == (try #require(LlavaFixtures.floats(Self.expected, "pixel_values_\(k)"))))
        #expect(prompt.tokens == (try #require(LlavaFixtures.integers(Self.expected, "input_ids_\(k)"))))
        let types = try #require(LlavaFixtures.integers(Self.expected, "token_type_ids_\(k)"))
        #expect(prompt.imagePositions == types.indices.filter { types[$0] == 1 })
        let run = try Self.run([Self.text, "--mmproj", Self.mmproj], image: k)
        #expect(run.tokens == (try #require(LlavaFixtures.integers(Self.expected, "generated_\(k)"))))
        let worst = Gemma3Tests.worst(run.logits, try #require(LlavaFixtures.floats(Self.expected, "logits_\(k)")))
        print("gemma3 gguf image \(k): max |Δ|/(1+|x|) \(worst)")
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }

    @Test("patch on the GGUF source bakes a bundle that runs; --no-eah gives the model back and unpatch restores the weights")
    func patchOnGGUFSource() throws {
        let directory = TemporaryDirectory()
        let source = [Self.text, "--mmproj", Self.mmproj], heads = ["--head", "0:1", "--head", "1:2"]
        let baked = directory.file("baked"), runtime = directory.file("static")
        for (bundle, flags) in [(baked, heads + ["--bake"]), (runtime, heads + ["--phase", "all"])] {
            let result = try CommandRunner.run("eah-convert", ["patch"] + source + ["-o", bundle] + flags)
            #expect(result.status == 0, "\(result.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: baked + "/model.gguf"))
        let reference = try #require(LlavaFixtures.floats(Self.expected, "logits_0"))
        let eah = try Self.run([baked], image: 0), staticRun = try Self.run([runtime], image: 0)
        #expect(eah.tokens.count == 5 && Gemma3Tests.worst(eah.logits, reference) > 1e-4, "the baked broadcast changes the logits")
        #expect(Gemma3Tests.worst(eah.logits, staticRun.logits) <= 1e-4, "baked and runtime-static EAH agree")
        let plain = try Self.run([baked], image: 0, extra: ["--no-eah"])
        #expect(Gemma3Tests.worst(plain.logits, reference) <= 1e-4)
        #expect(plain.tokens == (try #require(LlavaFixtures.integers(Self.expected, "generated_0"))))
        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", baked, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: restored + "/model.gguf")) == (try Data(contentsOf: URL(fileURLWithPath: runtime + "/model.gguf"))))
    }

    @Test("llama.cpp's names: renames and w+1 flags from the one table; SigLIP's head has none")
    func namingTable() {
        typealias N = Gemma3LlamaCppNames
        #expect(N.entry(.text, "layers.3.input_layernorm.weight").map { [$0.name, "\($0.plusOne)"] } == ["blk.3.attn_norm.weight", "true"])
        #expect(N.entry(.text, "layers.0.self_attn.o_proj.weight").map { [$0.name, "\($0.plusOne)"] } == ["blk.0.attn_output.weight", "false"])
        #expect(N.entry(.text, "norm.weight")?.name == "output_norm.weight")
        #expect(N.entry(.vision, "encoder.layers.1.layer_norm2.bias").map { [$0.name, "\($0.plusOne)"] } == ["v.blk.1.ln2.bias", "false"])
        #expect(N.entry(.projector, "mm_input_projection_weight")?.name == "mm.input_projection.weight")
        #expect(N.entry(.projector, "mm_soft_emb_norm.weight")?.plusOne == true)
        #expect(N.entry(.vision, "head.attention.in_proj_weight") == nil)
        #expect(N.entry(.text, "layers.x.input_layernorm.weight") == nil)
    }

    @Test("mismatched files are refused, naming the key and what it should be")
    func mismatchedFiles() throws {
        func problem(_ text: String, _ mmproj: String) -> ModelProblem? {
            do { _ = try Gemma3Loader.load(llamaCpp: try GGUFReader(path: text), mmproj: try GGUFReader(path: mmproj)); return nil } catch { return error.problem as? ModelProblem }
        }
        #expect(problem(Self.mmproj, Self.mmproj) == .badConfig(field: "general.architecture", reason: "is 'clip'; a Gemma 3 text model is 'gemma3'"))
        #expect(problem(Self.text, Self.text) == .badConfig(field: "clip.projector_type", reason: "is ''; a Gemma 3 mmproj is 'gemma3'"))
        let qwen = Fixtures.path("qwen2vl/qwen2vl/gguf/")
        #expect(problem(qwen + "text-f32.gguf", Self.mmproj) == .badConfig(field: "general.architecture", reason: "is 'qwen2vl'; a Gemma 3 text model is 'gemma3'"))
    }
}
