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

    /// Damaged tries (random units behind a valid size header) never read out of bounds: every
    /// text still encodes to ids of the vocabulary, and the unknown id stands for what no piece covers.
    @Test func randomCharsmapsEncodeSafely() throws {
        var seeded = SplitMix64(seed: 17)
        let pieces = ["<unk>", "a", "b", "ab", "\u{2581}", "\u{2581}a"]
        for _ in 0..<300 {
            let unitCount = Int.random(in: 1...64, using: &seeded)
            var blob = withUnsafeBytes(of: UInt32(unitCount * 4).littleEndian, Array.init)
            blob += (0..<(unitCount * 4 + Int.random(in: 0...40, using: &seeded))).map { _ in UInt8.random(in: 0...255, using: &seeded) }
            let charsmap = try #require(PrecompiledCharsmap(blob))
            let vocabulary = try TokenizerVocabulary(
                pieces: pieces, scores: [0, -1, -2, -3, -4, -5], kinds: [.unknown, .normal, .normal, .normal, .normal, .normal],
                unknownID: 0, bosID: nil, eosID: nil, byteFallback: false, removeExtraWhitespaces: Bool.random(using: &seeded),
                charsmap: charsmap)
            let tokenizer = SentencePieceTokenizer(vocabulary: vocabulary)
            for text in ["ab ba", "", "  a", "\u{0}\u{FF}b", "\u{E9}\u{301}x", String(repeating: "ab ", count: 20)] {
                #expect(tokenizer.encode(text, addBOS: false).allSatisfy { (0..<pieces.count).contains($0) })
            }
        }
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
