import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// Byte-level BPE tokenizers (tools/make_bytelevel_fixtures.py): Qwen2-, GPT-2- and LLaMA 3-style
/// tokenizer.json files against the `tokenizers` library, and GGUF vocabularies made from them
/// with tokenizer.ggml.pre qwen2, llama-bpe, gpt-2 and default against llama.cpp's llama-tokenize.
@Suite struct ByteLevelTokenizerTests {
    static let records: [JSONValue] = (try? TokenizerCorpus.records(path: Fixtures.path("tokenizer-bytelevel/expected.jsonl"))) ?? []

    static func json(_ name: String) throws -> HuggingFaceTokenizer {
        try TokenizerJSONFile.load(path: Fixtures.path("tokenizer-bytelevel/\(name).json"))
    }

    /// The text `TextStream` emits for `ids`, one id at a time.
    static func streamed(_ ids: [Int], _ tokenizer: any Tokenizer) -> String {
        var stream = TextStream(tokenizer: tokenizer)
        var text = ""
        for id in ids { text += stream.append(id) }
        return text + stream.finish()
    }

    @Test func fixtureHasTheStrings() {
        #expect(Self.records.count >= 300)
    }

    @Test(arguments: ["qwen2", "gpt2", "llama3"])
    func encodesLikeTokenizers(variant: String) throws {
        let tokenizer = try Self.json(variant)
        var mismatches = 0
        for record in Self.records {
            let text = try TokenizerCorpus.string(record["text"])
            let expected = try TokenizerCorpus.ints(record[variant])
            let plain = try TokenizerCorpus.ints(record[variant + "_plain"])
            let ids = tokenizer.encode(text)
            let plainIDs = tokenizer.encode(text, addBOS: false)
            if ids != expected || plainIDs != plain {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(variant) \(text.debugDescription): \(ids) != \(expected)") }
            }
        }
        #expect(mismatches == 0)
    }

    @Test(arguments: ["qwen2", "gpt2", "llama3"])
    func decodesLikeTokenizers(variant: String) throws {
        let tokenizer = try Self.json(variant)
        var mismatches = 0
        for record in Self.records {
            let ids = try TokenizerCorpus.ints(record[variant])
            let kept = try tokenizer.decode(ids, skipSpecialTokens: false)
            let skipped = try tokenizer.decode(ids)
            // Streaming decodes every prefix again; the long strings are left to the whole decode.
            let streamed = ids.count <= 400 ? Self.streamed(ids, tokenizer) : skipped
            let expectedSkipped = try TokenizerCorpus.string(record[variant + "_decoded_skip"])
            if kept != (try TokenizerCorpus.string(record[variant + "_decoded"])) || skipped != expectedSkipped || streamed != expectedSkipped {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(variant) \(ids): \(kept.debugDescription) / \(skipped.debugDescription) / streamed \(streamed.debugDescription)") }
            }
        }
        #expect(mismatches == 0)
    }

    @Test(arguments: ["qwen2", "llama-bpe", "gpt-2", "default"])
    func ggufEncodesLikeLlamaCpp(pre: String) throws {
        let tokenizer = try GGUFTokenizerMetadata.load(path: Fixtures.path("tokenizer-bytelevel/\(pre).gguf"))
        #expect(tokenizer is LlamaCppBPETokenizer)
        var mismatches = 0
        for record in Self.records {
            let text = try TokenizerCorpus.string(record["text"])
            let expected = try TokenizerCorpus.ints(record["gguf_" + pre])
            let ids = tokenizer.encode(text)
            if ids != expected {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(pre) \(text.debugDescription): \(ids) != \(expected)") }
            }
            // Decoding gives the text back (llama.cpp applies no normalizer), streamed too.
            if !text.unicodeScalars.contains(where: { $0.value >= 0x300 }) || pre != "qwen2" {
                #expect(try tokenizer.decode(ids) == Self.plainText(text), "\(pre) \(text.debugDescription)")
                if ids.count <= 400 { #expect(Self.streamed(ids, tokenizer) == (try tokenizer.decode(ids))) }
            }
        }
        #expect(mismatches == 0)
    }

    /// `text` without the control tokens that decoding drops.
    static func plainText(_ text: String) -> String {
        var text = text
        for marker in ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<image>"] {
            text = text.replacingOccurrences(of: marker, with: "")
        }
        return text
    }

    @Test func unknownComponentsAreNamed() throws {
        let document = try JSONParser.parse(#"{"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated"}}"#)
        #expect(throws: TokenizerProblem.unsupportedComponent(#"the Split regex "\\w+" in pre_tokenizer"#)) {
            _ = try TokenizerJSONFile.tokenizer(document: document)
        }
        let metadata = [
            MetadataEntry(key: "tokenizer.ggml.model", value: .string("gpt2")),
            MetadataEntry(key: "tokenizer.ggml.pre", value: .string("tekken")),
            MetadataEntry(key: "tokenizer.ggml.tokens", value: .array(element: .string, [.string("a"), .string("b"), .string("ab")])),
            MetadataEntry(key: "tokenizer.ggml.merges", value: .array(element: .string, [.string("a b")])),
        ]
        #expect(throws: TokenizerProblem.unsupportedComponent(#"the GGUF pre-tokenizer "tekken" (tokenizer.ggml.pre)"#)) {
            _ = try GGUFTokenizerMetadata.tokenizer(metadata: metadata)
        }
        let badMerge = [metadata[0], MetadataEntry(key: "tokenizer.ggml.pre", value: .string("qwen2")), metadata[2],
                        MetadataEntry(key: "tokenizer.ggml.merges", value: .array(element: .string, [.string("a c")]))]
        #expect(throws: TokenizerProblem.invalidMerge("a c")) { _ = try GGUFTokenizerMetadata.tokenizer(metadata: badMerge) }
    }
}
