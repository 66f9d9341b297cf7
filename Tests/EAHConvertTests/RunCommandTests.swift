import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

@Suite("eah-run raw inputs")
struct RunCommandTests {
    static let model = "m1-gqa-bias"
    static let expected = LlavaFixtures.path("m1-gqa-bias/expected.safetensors")

    static func ids(marker: Bool) throws -> String {
        var ids = try #require(LlavaFixtures.integers("m1-gqa-bias/expected.safetensors", "input_ids"))
        if marker {
            let first = try #require(ids.firstIndex(of: 300))
            ids.removeAll { $0 == 300 }
            ids.insert(-200, at: first)
        }
        return ids.map(String.init).joined(separator: ",")
    }

    @Test("llava-hf: greedy tokens and logits as transformers made them")
    func llavaHF() throws {
        let directory = TemporaryDirectory()
        let logitsPath = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", [
            LlavaFixtures.path("m1-gqa-bias/hf-current"), "--input-ids", try Self.ids(marker: false),
            "--pixel-values", Self.expected, "--max-tokens", "6", "--logits-out", logitsPath, "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let generated = try #require(LlavaFixtures.integers("m1-gqa-bias/expected.safetensors", "generated"))
        #expect(document["schema"] == .integer(1))
        #expect(document["tokens"] == .array(generated.map(JSONValue.integer)))
        let reader = try SafetensorsReader(path: logitsPath)
        let logits = try #require(reader.tensor(named: "logits"))
        #expect(logits.dtype == .f32)
        #expect(logits.shape == [11 + 6 - 1, 320])
        let mine = try #require(try Self.floats(logitsPath))
        let reference = try #require(LlavaFixtures.floats("m1-gqa-bias/expected.safetensors", "logits"))
        #expect(zip(mine, reference).allSatisfy { abs($0 - $1) <= 1e-4 * (1 + abs($1)) })
    }

    static func floats(_ path: String) throws -> [Float]? {
        let reader = try SafetensorsReader(path: path)
        guard let tensor = reader.tensor(named: "logits") else { return nil }
        return try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    @Test("GGUF + mmproj with -200; --max-tokens 0 runs the prefill only")
    func ggufPrefillOnly() throws {
        let directory = TemporaryDirectory()
        let logitsPath = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", [
            LlavaFixtures.path("m1-gqa-bias/gguf/text-f32.gguf"), "--mmproj", LlavaFixtures.path("m1-gqa-bias/gguf/mmproj-f32.gguf"),
            "--input-ids", try Self.ids(marker: true), "--pixel-values", Self.expected, "--max-tokens", "0",
            "--logits-out", logitsPath, "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        // Timings vary run to run: the rest of the document is exact, and a prefill-only run has no decode rate.
        #expect(result.stdout.hasPrefix("{\"schema\":1,\"sampling\":{\"temperature\":0,\"repeat_penalty\":1},\"tokens\":[],\"timings\":{\"load_seconds\":"))
        #expect(result.stdout.contains("\"decode_tokens_per_second\":null,"))
        let logits = try #require(try Self.floats(logitsPath))
        let reference = try #require(LlavaFixtures.floats("m1-gqa-bias/expected-gguf-f32.safetensors", "logits"))
        #expect(logits.count == 11 * 320)
        #expect(zip(logits, reference).allSatisfy { abs($0 - $1) <= 1e-4 * (1 + abs($1)) })
    }

    @Test("a text GGUF without --mmproj is bad usage")
    func ggufNeedsMMProj() throws {
        let result = try CommandRunner.run("eah-run", [
            LlavaFixtures.path("m1-gqa-bias/gguf/text-f32.gguf"), "--input-ids", "1,-200,2", "--pixel-values", Self.expected,
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--mmproj"))
    }

    @Test("ids outside the vocabulary are bad usage; malformed ids too")
    func badIDs() throws {
        let outside = try CommandRunner.run("eah-run", [
            LlavaFixtures.path("m1-gqa-bias/hf-current"), "--input-ids", "1,-200,5000", "--pixel-values", Self.expected,
        ])
        #expect(outside.status == 2)
        #expect(outside.stderr.contains("token id 5000 at position 5 is outside the vocabulary (0..<320)"))
        let malformed = try CommandRunner.run("eah-run", [
            LlavaFixtures.path("m1-gqa-bias/hf-current"), "--input-ids", "1,x", "--pixel-values", Self.expected,
        ])
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("'x' is not an integer"))
    }

    @Test("pixel values of the wrong size are bad input")
    func wrongPixelValues() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("pv.safetensors")
        let writer = try SafetensorsWriter(path: path, overwrite: false, tensors: [TensorPlan(name: "pixel_values", dtype: .f32, shape: [1, 3, 2, 2])])
        try [Float](repeating: 0, count: 12).withUnsafeBytes { try writer.write($0) }
        try writer.finish()
        let result = try CommandRunner.run("eah-run", [
            LlavaFixtures.path("m1-gqa-bias/hf-current"), "--input-ids", "1,-200,2", "--pixel-values", path,
        ])
        #expect(result.status == 1)
        #expect(result.stderr == "eah-run: \(path): 'pixel_values' is F32 [1, 3, 2, 2]; the vision tower needs F32 [1, 3, 28, 28]; write [1, 3, H, W] F32 pixel values at the vision tower's image size (eah-convert preprocess)\n")
    }
}
