import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Testing

/// tokenizer.json (llava-hf's legacy LLaMA form) and tokenizer-metaspace.json (transformers 5's
/// form) against the `tokenizers` library's recorded output.
@Suite struct HuggingFaceTokenizerTests {
    static let legacy = try? TokenizerJSONFile.load(path: Fixtures.path("tokenizer/tokenizer.json"))
    static let metaspace = try? TokenizerJSONFile.load(path: Fixtures.path("tokenizer/tokenizer-metaspace.json"))

    @Test func encodesCorpusLikeTokenizers() throws {
        let tokenizer = try #require(Self.legacy)
        var mismatches = 0
        for entry in TokenizerCorpus.entries {
            let ids = tokenizer.encode(entry.text)
            if ids != entry.hf {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(entry.text.debugDescription): \(ids) != \(entry.hf)") }
            }
            #expect(tokenizer.encode(entry.text, addBOS: false) == entry.hfPlain ?? Array(entry.hf.dropFirst()))
        }
        #expect(mismatches == 0)
    }

    @Test func encodesCorpusLikeTokenizersWithMetaspace() throws {
        let tokenizer = try #require(Self.metaspace)
        var mismatches = 0
        for entry in TokenizerCorpus.entries where tokenizer.encode(entry.text) != entry.metaspace {
            mismatches += 1
            if mismatches <= 5 { Issue.record("\(entry.text.debugDescription): \(tokenizer.encode(entry.text)) != \(entry.metaspace)") }
        }
        #expect(mismatches == 0)
    }

    @Test func decodesCorpusLikeTokenizers() throws {
        let tokenizer = try #require(Self.legacy)
        var mismatches = 0
        for entry in TokenizerCorpus.entries {
            let kept = try tokenizer.decode(entry.hf, skipSpecialTokens: false)
            let skipped = try tokenizer.decode(entry.hf)
            if kept != entry.hfDecoded || skipped != entry.hfDecodedSkippingSpecial {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(entry.hf): \(kept.debugDescription) / \(skipped.debugDescription) != \(entry.hfDecoded.debugDescription) / \(entry.hfDecodedSkippingSpecial.debugDescription)") }
            }
        }
        #expect(mismatches == 0)
    }

    @Test func decodesArbitraryIDsLikeTokenizers() throws {
        let tokenizer = try #require(Self.legacy)
        for item in TokenizerCorpus.decodeCases {
            #expect(try tokenizer.decode(item.hfIDs, skipSpecialTokens: false) == item.hf, "\(item.hfIDs)")
            #expect(try tokenizer.decode(item.hfIDs) == item.hfSkippingSpecial, "\(item.hfIDs)")
        }
    }
}
