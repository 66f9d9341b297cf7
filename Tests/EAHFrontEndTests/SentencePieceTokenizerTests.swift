import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Testing

/// tokenizer.model and tokenizer.gguf against sentencepiece's recorded output.
@Suite struct SentencePieceTokenizerTests {
    static let model = try? SentencePieceModelFile.load(path: Fixtures.path("tokenizer/tokenizer.model"))
    static let gguf = try? GGUFTokenizerMetadata.load(path: Fixtures.path("tokenizer/tokenizer.gguf"))

    @Test func corpusIsComplete() {
        #expect(TokenizerCorpus.entries.count >= 2000)
        #expect(TokenizerCorpus.decodeCases.count == 300)
    }

    @Test func encodesCorpusLikeSentencePiece() throws {
        let tokenizer = try #require(Self.model)
        var mismatches = 0
        for entry in TokenizerCorpus.entries {
            let ids = tokenizer.encode(entry.text, addBOS: false)
            if ids != entry.spm {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(entry.text.debugDescription): \(ids) != \(entry.spm)") }
            }
            let withBOS = tokenizer.encode(entry.text)
            #expect(withBOS == [1] + entry.spm)
        }
        #expect(mismatches == 0)
    }

    /// The GGUF form against llama.cpp, the reference for GGUF files (tools/make_gguf_tokenizer_fixtures.py):
    /// it equals sentencepiece except on text spelling control or user-defined pieces (49 of the
    /// 2,053 strings), which llama.cpp cuts out first.
    @Test func ggufEncodesCorpusLikeLlamaCpp() throws {
        let tokenizer = try #require(Self.gguf)
        let records = try TokenizerCorpus.lines("gguf-llama-cpp.jsonl")
        #expect(records.count == TokenizerCorpus.entries.count)
        var mismatches = 0
        var differFromSentencePiece = 0
        for (record, entry) in zip(records, TokenizerCorpus.entries) {
            let text = try TokenizerCorpus.string(record["text"])
            let expected = try TokenizerCorpus.ints(record["ids"])
            #expect(text == entry.text)
            let ids = tokenizer.encode(text)
            if ids != expected {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(text.debugDescription): \(ids) != \(expected)") }
            }
            if expected != [1] + entry.spm { differFromSentencePiece += 1 }
        }
        #expect(mismatches == 0)
        #expect(differFromSentencePiece == 49)
    }

    @Test(arguments: ["model", "gguf"])
    func decodesCorpusLikeSentencePiece(source: String) throws {
        let tokenizer = try #require(source == "model" ? Self.model : Self.gguf)
        var mismatches = 0
        for entry in TokenizerCorpus.entries {
            let text = try tokenizer.decode(entry.spm)
            if text != entry.spmDecoded {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(source): \(entry.spm): \(text.debugDescription) != \(entry.spmDecoded.debugDescription)") }
            }
            // Round trip wherever sentencepiece round-trips; BOS changes nothing. (The GGUF form
            // encodes as llama.cpp, which cuts spelled control pieces out: not a round trip.)
            if entry.spmDecoded == entry.text, source == "model" || tokenizer.encode(entry.text) == [1] + entry.spm { #expect(try tokenizer.decode(tokenizer.encode(entry.text)) == entry.text) }
        }
        #expect(mismatches == 0)
    }

    @Test(arguments: ["model", "gguf"])
    func decodesArbitraryIDsLikeSentencePiece(source: String) throws {
        let tokenizer = try #require(source == "model" ? Self.model : Self.gguf)
        for item in TokenizerCorpus.decodeCases {
            #expect(try tokenizer.decode(item.ids) == item.spm, "\(item.ids)")
        }
    }
}
