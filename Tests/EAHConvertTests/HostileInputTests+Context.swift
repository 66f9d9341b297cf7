import EAH
import EAHCheckpoint
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

extension HostileInputTests {
    static let tiny = Fixtures.path("e2e/tiny-llava-hf")
    static let longPrompt = Array(repeating: "word", count: 20_000).joined(separator: " ")

    @Test("4. a prompt longer than the context is refused: eah-run (question and raw ids) and calibration data")
    func promptLongerThanContext() throws {
        let question = try CommandRunner.run("eah-run", [Self.tiny, "--image", Fixtures.path("e2e/rgb_37x53_420.jpg"), "--prompt", Self.longPrompt])
        #expect(question.status == 1, "\(question.stderr)")
        #expect(question.stderr.contains("prompt: the prompt is "), "\(question.stderr)")
        #expect(question.stderr.contains("tokens (image features included) but the model's context is 256 positions (max_position_embeddings); shorten the prompt"))

        let ids = ["1", "-200"] + Array(repeating: "5", count: 600)
        let raw = try CommandRunner.run("eah-run", [Self.m2, "--input-ids", ids.joined(separator: ","), "--pixel-values",
                                                    BundleCommandTests.caseFile("m2_static_prefill"), "--max-tokens", "1"])
        #expect(raw.status == 1, "\(raw.stderr)")
        #expect(raw.stderr.contains("--input-ids: the prompt is "), "\(raw.stderr)")
        #expect(raw.stderr.contains("but the model's context is 512 positions"))

        let directory = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: Fixtures.path("e2e/rgb_37x53_420.jpg"), toPath: directory.file("a.jpg"))
        let data = directory.write("data.jsonl", Array((JSONValue.object([("image", .string("a.jpg")), ("prompt", .string(Self.longPrompt))]).serialized + "\n").utf8))
        let calibrate = try CommandRunner.run("eah-convert", ["calibrate", Self.tiny, "--data", data, "--layers", "0-1", "-o", directory.file("r.json")])
        #expect(calibrate.status == 1, "\(calibrate.stderr)")
        #expect(calibrate.stderr.contains("but the model's context is 256 positions"), "\(calibrate.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("r.json")))
    }

    /// Before: the KV cache was sized prompt + 10^12 positions and the allocation aborted.
    @Test("4. generation stops where the context ends instead of allocating past it")
    func generationStopsAtTheContext() throws {
        let ids = try BundleCommandTests.ids("m2_static_prefill")
        let result = try CommandRunner.run("eah-run", [Self.m2, "--input-ids", ids, "--pixel-values", BundleCommandTests.caseFile("m2_static_prefill"),
                                                       "--max-tokens", "1000000000000", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let tokens = try #require(JSONParser.parse(Array(result.stdout.utf8))["tokens"])
        guard case .array(let list) = tokens else { Issue.record("no tokens"); return }
        #expect(list.count <= 512)
    }
}
