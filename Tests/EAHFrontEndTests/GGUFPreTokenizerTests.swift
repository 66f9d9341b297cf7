import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Testing

/// Byte-level GGUF vocabularies under the `tokenizer.ggml.pre` names of the supported families
/// that tokenizer-bytelevel/ does not cover (smollm in SmolVLM's shape, qwen2 in InternVL's, and
/// the llama3 / llama-v3 / deepseek-r1-qwen aliases), against llama.cpp's tokenizer
/// (tools/make_gguf_pre_fixtures.py): ids, decoded text (llama.cpp's pieces without control
/// tokens) and streamed decoding.
@Suite struct GGUFPreTokenizerTests {
    static let records: [JSONValue] = (try? TokenizerCorpus.records(path: Fixtures.path("tokenizer-gguf-pre/expected.jsonl"))) ?? []

    @Test func fixtureHasTheStrings() {
        #expect(Self.records.count > 500)
    }

    @Test(arguments: ["smollm", "internvl-qwen2", "llama3", "llama-v3", "deepseek-r1-qwen"])
    func likeLlamaCpp(name: String) throws {
        let tokenizer = try GGUFTokenizerMetadata.load(path: Fixtures.path("tokenizer-gguf-pre/\(name).gguf"))
        #expect(tokenizer is LlamaCppBPETokenizer)
        var encodeDifferences = 0
        var decodeDifferences = 0
        for record in Self.records {
            let text = try TokenizerCorpus.string(record["text"])
            let expected = try TokenizerCorpus.ints(record[name])
            let expectedText = try TokenizerCorpus.string(record[name + "_decoded"])
            let ids = tokenizer.encode(text)
            if ids != expected {
                encodeDifferences += 1
                if encodeDifferences <= 5 { Issue.record("\(name) \(text.debugDescription): \(ids) != \(expected)") }
            }
            let decoded = try tokenizer.decode(expected)
            let streamed = ByteLevelTokenizerTests.streamed(expected, tokenizer)
            if decoded != expectedText || streamed != expectedText {
                decodeDifferences += 1
                if decodeDifferences <= 5 {
                    Issue.record("\(name) decode \(expected): \(decoded.debugDescription) / streamed \(streamed.debugDescription) != \(expectedText.debugDescription)")
                }
            }
        }
        #expect(encodeDifferences == 0 && decodeDifferences == 0)
    }
}
