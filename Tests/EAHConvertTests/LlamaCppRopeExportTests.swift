import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// RoPE scaling in llama.cpp's layout, against convert_hf_to_gguf.py (Tests/Fixtures/llamacpp-export/rope.json,
/// tools/make_llamacpp_rope_fixtures.py): LLaMA 3 scaling as the generated `rope_freqs.weight`
/// (values bit for bit), YaRN as `llama.rope.scaling.*` keys; what the converter cannot write is
/// refused naming the part.
@Suite("llama.cpp layout: RoPE scaling as convert_hf_to_gguf writes it")
struct LlamaCppRopeExportTests {
    /// models/demo-llava copied as `directory/name` with `text_config.rope_parameters` = `rope`.
    static func model(_ name: String, rope: Any, in directory: TemporaryDirectory) throws -> String {
        let folder = directory.file(name)
        try FileManager.default.copyItem(atPath: LlamaCppExportTests.model, toPath: folder)
        let path = folder + "/config.json"
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        var text = try #require(config["text_config"] as? [String: Any])
        text["rope_parameters"] = rope
        config["text_config"] = text
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        return folder
    }

    static func fixtureRope(_ name: String) throws -> Any {
        let document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("llamacpp-export/rope.json"))))
        return try #require(((document as? [String: Any])?["rope_parameters"] as? [String: Any])?[name], "no \(name) in rope.json")
    }

    @Test("the text model equals the converter's (llama3: rope_freqs.weight; yarn: scaling keys)", arguments: ["demo-llava-llama3", "demo-llava-yarn"])
    func sameAsLlamaCpp(_ name: String) throws {
        let directory = TemporaryDirectory()
        let folder = try Self.model(name, rope: try Self.fixtureRope(name), in: directory)
        let output = directory.file("out.gguf")
        let result = try CommandRunner.run("eah-convert", ["convert", folder, "--to", "gguf", "--dtype", "f32", "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        try LlamaCppExportTests.compare(output, with: name, fixture: "llamacpp-export/rope.json")
    }

    @Test("RoPE scaling the converter cannot write is refused, naming it")
    func refusals() throws {
        let directory = TemporaryDirectory()
        let dynamic = try Self.model("dynamic", rope: ["rope_type": "dynamic", "rope_theta": 10000.0, "factor": 2.0], in: directory)
        let refused = try CommandRunner.run("eah-convert", ["convert", dynamic, "--to", "gguf", "-o", directory.file("d.gguf")])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("cannot be written in llama.cpp's layout: RoPE scaling 'dynamic' has no llama.cpp form"), "\(refused.stderr)")
        let yarn = try Self.model("yarn", rope: ["rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0], in: directory)
        let noOriginal = try CommandRunner.run("eah-convert", ["convert", yarn, "--to", "gguf", "-o", directory.file("y.gguf")])
        #expect(noOriginal.status == 1)
        #expect(noOriginal.stderr.contains("YaRN RoPE scaling without rope_parameters.original_max_position_embeddings"), "\(noOriginal.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("d.gguf")) && !FileManager.default.fileExists(atPath: directory.file("y.gguf")))
    }
}
