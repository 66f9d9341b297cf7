import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// SentencePiece `.model` files that differ from the LLaMA-style fixture in one normalizer or
/// trainer setting each (tools/make_spm_variant_fixtures.py: no dummy prefix, extra whitespace
/// removed, whitespace not escaped, user-defined and control pieces, no byte fallback, the
/// nmt_nfkc and a custom precompiled normalization rule), against sentencepiece's ids and decodes.
@Suite struct SentencePieceVariantTests {
    static let folder = "tokenizer-spm-variants/"
    static let records: [JSONValue] = (try? TokenizerCorpus.records(path: Fixtures.path(folder + "expected.jsonl"))) ?? []
    static let variants = ["identity", "no-dummy-prefix", "remove-whitespace", "remove-whitespace-no-dummy-prefix",
                           "no-escape-whitespace", "user-control", "no-byte-fallback", "nmt-nfkc-user-control",
                           "custom-rule-keep-whitespace"]

    @Test func fixtureHasTheStrings() {
        #expect(Self.records.count == 200)
    }

    @Test(arguments: variants)
    func encodesAndDecodesLikeSentencePiece(variant: String) throws {
        let tokenizer = try SentencePieceModelFile.load(path: Fixtures.path(Self.folder + variant + ".model"))
        var encodeDifferences = 0
        var decodeDifferences = 0
        for record in Self.records {
            let text = try TokenizerCorpus.string(record["text"])
            let expected = try TokenizerCorpus.ints(record[variant])
            let expectedText = try TokenizerCorpus.string(record[variant + "_decoded"])
            let ids = tokenizer.encode(text, addBOS: false)
            if ids != expected {
                encodeDifferences += 1
                if encodeDifferences <= 5 { Issue.record("\(variant) \(text.debugDescription): \(ids) != \(expected)") }
            }
            let decoded = try tokenizer.decode(expected)
            let streamed = ByteLevelTokenizerTests.streamed(expected, tokenizer)
            if decoded != expectedText || streamed != expectedText {
                decodeDifferences += 1
                if decodeDifferences <= 5 {
                    Issue.record("\(variant) decode \(expected): \(decoded.debugDescription) / streamed \(streamed.debugDescription) != \(expectedText.debugDescription)")
                }
            }
        }
        #expect(encodeDifferences == 0 && decodeDifferences == 0)
    }

    /// The fixtures differ where they should: each setting changes ids on some strings.
    @Test func eachVariantChangesSomeIDs() throws {
        for variant in Self.variants.dropFirst() {
            let differing = try Self.records.filter { try TokenizerCorpus.ints($0[variant]) != TokenizerCorpus.ints($0["identity"]) }
            #expect(differing.count >= 50, "\(variant)")
        }
    }

    /// A charsmap whose trie size exceeds its bytes: a ModelProto with `normalizer_spec {
    /// precompiled_charsmap }` appended (protobuf merges it into the model's spec).
    @Test func truncatedCharsmapIsRefused() throws {
        let folder = TemporaryDirectory()
        var model = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(Self.folder + "identity.model"))))
        let charsmap: [UInt8] = [0xFF, 0xFF, 0x00, 0x00, 1, 2, 3]
        model += [0x1A, UInt8(charsmap.count + 2), 0x12, UInt8(charsmap.count)] + charsmap
        let path = folder.write("tokenizer.model", model)
        let result = TokenizerMalformedTests.problem { _ = try SentencePieceModelFile.load(path: path) }
        #expect(result.path == path)
        #expect(result.problem as? TokenizerProblem == .invalidCharsmap(byteCount: 7))
    }

    /// `treat_whitespace_as_suffix` (trainer_spec field 24) is refused, not silently ignored.
    @Test func whitespaceAsSuffixIsRefused() throws {
        let folder = TemporaryDirectory()
        var model = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(Self.folder + "identity.model"))))
        model += [0x12, 0x03, 0xC0, 0x01, 0x01]
        let path = folder.write("tokenizer.model", model)
        let result = TokenizerMalformedTests.problem { _ = try SentencePieceModelFile.load(path: path) }
        #expect(result.problem as? TokenizerProblem == .unsupportedComponent("treat_whitespace_as_suffix (▁ at the end of pieces)"))
    }
}
