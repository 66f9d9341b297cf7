import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// Byte-level BPE tokenizers shipped as vocab.json + merges.txt + tokenizer_config.json without
/// tokenizer.json (tools/make_vocab_merges_fixtures.py): Qwen2Tokenizer and GPT2Tokenizer folders
/// against transformers' AutoTokenizer (5.24, equal to 4.57.1's slow and fast tokenizers).
@Suite struct VocabMergesTokenizerTests {
    static let folder = "tokenizer-vocab-merges/"
    static let records: [JSONValue] = (try? TokenizerCorpus.records(path: Fixtures.path(folder + "expected.jsonl"))) ?? []

    static func tokenizer(_ variant: String) throws -> HuggingFaceTokenizer {
        try VocabMergesFile.load(folder: Fixtures.path(folder + variant))
    }

    /// A copy of the qwen2 fixture folder with `edit` applied to the text of `name`.
    static func edited(_ name: String, _ edit: (String) -> String) throws -> TemporaryDirectory {
        let directory = TemporaryDirectory()
        for file in ["vocab.json", "merges.txt", "tokenizer_config.json"] {
            let text = try String(contentsOfFile: Fixtures.path(folder + "qwen2/" + file), encoding: .utf8)
            directory.write(file, Array((file == name ? edit(text) : text).utf8))
        }
        return directory
    }

    @Test func fixtureHasTheTexts() {
        #expect(Self.records.count >= 350)
    }

    @Test("a folder without tokenizer.json resolves to its vocab.json; tokenizer.json wins when present")
    func folderResolution() throws {
        let qwen2 = Fixtures.path(Self.folder + "qwen2")
        #expect(TokenizerFile.path(inFolder: qwen2) == qwen2 + "/vocab.json")
        #expect(try TokenizerFile.load(path: qwen2 + "/vocab.json") is HuggingFaceTokenizer)
        let directory = try Self.edited("", { $0 })
        directory.write("tokenizer.json", Array("{}".utf8))
        #expect(TokenizerFile.path(inFolder: directory.path) == directory.path + "/tokenizer.json")
        try FileManager.default.removeItem(atPath: directory.file("merges.txt"))
        try FileManager.default.removeItem(atPath: directory.file("tokenizer.json"))
        #expect(TokenizerFile.path(inFolder: directory.path) == nil)
    }

    @Test(arguments: ["qwen2", "gpt2"])
    func encodesLikeTransformers(variant: String) throws {
        let tokenizer = try Self.tokenizer(variant)
        var mismatches = 0
        for record in Self.records {
            let text = try TokenizerCorpus.string(record["text"])
            let expected = try TokenizerCorpus.ints(record[variant])
            // Neither class adds BOS or EOS (add_bos_token false, no post-processor).
            let ids = tokenizer.encode(text), plain = tokenizer.encode(text, addBOS: false)
            if ids != expected || plain != expected {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(variant) \(text.debugDescription): \(ids) != \(expected)") }
            }
        }
        #expect(mismatches == 0)
    }

    @Test("special tokens, unicode, whitespace runs and digits are among the texts")
    func textsCoverTheCases() throws {
        let qwen2 = try Self.tokenizer("qwen2")
        let texts = try Self.records.map { try TokenizerCorpus.string($0["text"]) }
        let imStart = try #require(qwen2.addedTokens.first { $0.content == "<|im_start|>" })
        #expect(imStart.special && !imStart.normalized)
        let mask = try #require(qwen2.addedTokens.first { $0.content == "<mask>" })
        #expect(!mask.special && mask.lstrip && mask.rstrip)
        #expect(qwen2.addedTokens.first { $0.content == "[pic]" }?.normalized == true)
        // In the GPT-2 folder ChatML markers are plain vocabulary: split into pieces, not matched.
        let chat = try #require(Self.records.first { try TokenizerCorpus.string($0["text"]) == "<|im_start|><|im_end|>" })
        #expect(try TokenizerCorpus.ints(chat["qwen2"]) == [1, 2])
        #expect(try TokenizerCorpus.ints(chat["gpt2"]).count > 2)
        #expect(texts.contains { $0.contains("   ") } && texts.contains { $0.contains("12345") })
        #expect(texts.contains { $0.unicodeScalars.contains { $0.value > 0xFFFF } } && texts.contains { $0.contains("e\u{301}") })
    }

    @Test(arguments: ["qwen2", "gpt2"])
    func decodesLikeTransformers(variant: String) throws {
        let tokenizer = try Self.tokenizer(variant)
        var mismatches = 0, roundTrips = 0, referenceRoundTrips = 0
        for record in Self.records {
            let text = try TokenizerCorpus.string(record["text"])
            let ids = try TokenizerCorpus.ints(record[variant])
            let kept = try tokenizer.decode(ids, skipSpecialTokens: false), skipped = try tokenizer.decode(ids)
            let expectedKept = try TokenizerCorpus.string(record[variant + "_decoded"])
            let expectedSkipped = try TokenizerCorpus.string(record[variant + "_decoded_skip"])
            if kept != expectedKept || skipped != expectedSkipped {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(variant) \(ids): \(kept.debugDescription) / \(skipped.debugDescription)") }
            }
            if try tokenizer.decode(tokenizer.encode(text), skipSpecialTokens: false) == text { roundTrips += 1 }
            if expectedKept == text { referenceRoundTrips += 1 }
        }
        #expect(mismatches == 0)
        // GPT-2 has no normalizer and no stripping added tokens: every text comes back. Qwen2's
        // NFC and <mask>'s lstrip/rstrip change some, exactly those transformers changes.
        #expect(roundTrips == referenceRoundTrips && roundTrips >= 300)
        if variant == "gpt2" { #expect(roundTrips == Self.records.count) }
    }

    @Test("an unknown or missing tokenizer_class is refused naming tokenizer_config.json")
    func unknownClassIsRefused() throws {
        for (replacement, expected) in [("\"LlamaTokenizer\"", "LlamaTokenizer" as String?), ("null", nil)] {
            let directory = try Self.edited("tokenizer_config.json") {
                $0.replacingOccurrences(of: "\"Qwen2Tokenizer\"", with: replacement)
            }
            let result = TokenizerMalformedTests.problem { _ = try TokenizerFile.load(path: directory.file("vocab.json")) }
            #expect(result.path == directory.file("tokenizer_config.json"))
            #expect(result.problem as? TokenizerProblem == .unsupportedTokenizerClass(expected))
        }
        let message = TokenizerProblem.unsupportedTokenizerClass("LlamaTokenizer").message
        #expect(message == "tokenizer_class \"LlamaTokenizer\" is not one eah builds from vocab.json and merges.txt (it reads GPT2Tokenizer, GPT2TokenizerFast, Qwen2Tokenizer, Qwen2TokenizerFast)")
    }

    @Test("damaged merges.txt and an add_bos_token the classes do not build are refused")
    func damagedFilesAreRefused() throws {
        let extraField = try Self.edited("merges.txt") { $0.replacingOccurrences(of: "e r\n", with: "e r x\n") }
        let result = TokenizerMalformedTests.problem { _ = try VocabMergesFile.load(folder: extraField.path) }
        #expect(result.path == extraField.file("merges.txt"))
        #expect(result.problem as? TokenizerProblem == .malformedMerges(line: 3))

        let unknown = try Self.edited("merges.txt") { $0.replacingOccurrences(of: "e r\n", with: "e zzz\n") }
        let unknownResult = TokenizerMalformedTests.problem { _ = try VocabMergesFile.load(folder: unknown.path) }
        #expect(unknownResult.path == unknown.file("merges.txt"))
        #expect(unknownResult.problem as? TokenizerProblem == .invalidMerge("e zzz"))

        let bos = try Self.edited("tokenizer_config.json") {
            $0.replacingOccurrences(of: "\"tokenizer_class\"", with: "\"add_bos_token\": true, \"tokenizer_class\"")
        }
        let bosResult = TokenizerMalformedTests.problem { _ = try VocabMergesFile.load(folder: bos.path) }
        #expect(bosResult.problem as? TokenizerProblem == .unsupportedComponent("add_bos_token: true with Qwen2Tokenizer"))
    }
}
