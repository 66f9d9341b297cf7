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

    @Test(arguments: ["model", "gguf"])
    func encodesCorpusLikeSentencePiece(source: String) throws {
        let tokenizer = try #require(source == "model" ? Self.model : Self.gguf)
        var mismatches = 0
        for entry in TokenizerCorpus.entries {
            let ids = tokenizer.encode(entry.text, addBOS: false)
            if ids != entry.spm {
                mismatches += 1
                if mismatches <= 5 { Issue.record("\(source): \(entry.text.debugDescription): \(ids) != \(entry.spm)") }
            }
            let withBOS = tokenizer.encode(entry.text)
            #expect(withBOS == [1] + entry.spm)
        }
        #expect(mismatches == 0)
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
            // Round trip wherever sentencepiece round-trips; BOS changes nothing.
            if entry.spmDecoded == entry.text { #expect(try tokenizer.decode(tokenizer.encode(entry.text)) == entry.text) }
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
