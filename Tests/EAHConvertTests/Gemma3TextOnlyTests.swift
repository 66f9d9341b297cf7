import EAHCheckpoint
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// Gemma 3's text decoder as a text-only model (tools/make_gemma3_gguf_fixtures.py): the
/// transformers Gemma3ForCausalLM folder (`gemma3_text`) and llama.cpp's `gemma3` text GGUF given
/// without --mmproj answer --prompt (the chat template rendered without an image) and
/// --input-ids with Gemma3ForCausalLM's eager logits and greedy tokens.
@Suite("Gemma 3 text-only in eah-run")
struct Gemma3TextOnlyTests {
    static let models = [Gemma3GGUFTests.base + "text-hf", Gemma3GGUFTests.text]

    /// eah-run's logits (prompt and decode rows) and tokens, 5 new tokens.
    static func run(_ arguments: [String]) throws -> (logits: [Float], tokens: [Int]) {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", arguments + ["--max-tokens", "5", "--logits-out", out, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let reader = try SafetensorsReader(path: out)
        let tensor = try #require(reader.tensor(named: "logits"))
        return (try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }, Gemma3GGUFTests.ints(document["tokens"]))
    }

    @Test("--prompt and --input-ids give Gemma3ForCausalLM's prompt and decode logits and greedy tokens", arguments: models)
    func matchesTransformers(_ model: String) throws {
        guard case .string(let question)? = try Gemma3GGUFTests.facts()["text"]?["question"] else { Issue.record("facts.json"); return }
        let ids = try #require(LlavaFixtures.integers(Gemma3GGUFTests.expected, "text_ids"))
        let logits = try #require(LlavaFixtures.floats(Gemma3GGUFTests.expected, "text_logits"))
        let generated = try #require(LlavaFixtures.integers(Gemma3GGUFTests.expected, "text_generated"))
        let pipeline = try ModelPipeline(model: model)
        #expect(pipeline.model.family == "text-only")
        #expect(try pipeline.prompt(question: question, images: []).tokens == ids)
        for arguments in [["--prompt", question], ["--input-ids", ids.map(String.init).joined(separator: ",")]] {
            let run = try Self.run([model] + arguments)
            #expect(run.tokens == generated, "\(arguments[0])")
            let worst = Gemma3Tests.worst(run.logits, logits)
            print("gemma3 text-only \(model.split(separator: "/").last ?? "") \(arguments[0]): max |Δ|/(1+|x|) \(worst)")
            #expect(worst <= 1e-4, "\(arguments[0]): max |Δlogit| / (1 + |logit|) = \(worst)")
        }
    }

    @Test("an image is refused; final-logit soft-capping in a gemma3_text config is refused by name")
    func refusals() throws {
        let (image, question) = try Gemma3GGUFTests.image(0)
        let withImage = try CommandRunner.run("eah-run", [Gemma3GGUFTests.text, "--image", image, "--prompt", question, "--no-eah"])
        #expect(withImage.status != 0)
        #expect(withImage.stderr.contains("the model has no vision tower"), "\(withImage.stderr)")
        let copy = TemporaryDirectory()
        let folder = Gemma3GGUFTests.base + "text-hf"
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            if name == "config.json" {
                bytes = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"final_logit_softcapping\": null", with: "\"final_logit_softcapping\": 30.0").utf8)
            }
            copy.write(name, bytes)
        }
        #expect {
            try ModelFamilies.load(ModelRequest(model: copy.path))
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem
                == .badConfig(field: "final_logit_softcapping", reason: "is set; final-logit soft-capping is not supported (released Gemma 3 configs leave it null)")
        }
    }
}
