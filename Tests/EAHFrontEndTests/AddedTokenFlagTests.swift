import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Testing

/// tokenizer.json added tokens in every flag combination (special, normalized, lstrip, rstrip,
/// single_word) and in InternVL's and SmolVLM's shapes, on Qwen2 and GPT-2 byte-level BPE and on
/// a SentencePiece-style pipeline, against the tokenizers library
/// (tools/make_added_token_fixtures.py): ids with and without special tokens, decodes keeping and
/// skipping special tokens, streamed decoding.
@Suite struct AddedTokenFlagTests {
    static let records: [JSONValue] = (try? TokenizerCorpus.records(path: Fixtures.path("tokenizer-added/expected.jsonl"))) ?? []

    @Test func fixtureHasTheRecords() {
        #expect(Self.records.count > 1000)
    }

    @Test(arguments: ["internvl", "smolvlm", "spm"])
    func likeTokenizers(file: String) throws {
        let tokenizer = try TokenizerJSONFile.load(path: Fixtures.path("tokenizer-added/\(file).json"))
        var checked = 0
        var differences = 0
        for record in Self.records {
            guard case .string(file)? = record["file"] else { continue }
            checked += 1
            let text = try TokenizerCorpus.string(record["text"])
            let ids = try TokenizerCorpus.ints(record["ids"])
            let plain = try TokenizerCorpus.ints(record["plain"])
            let decoded = try TokenizerCorpus.string(record["decoded"])
            let decodedSkip = try TokenizerCorpus.string(record["decoded_skip"])
            let ours = (tokenizer.encode(text, addBOS: true), tokenizer.encode(text, addBOS: false),
                        try tokenizer.decode(ids, skipSpecialTokens: false), try tokenizer.decode(ids, skipSpecialTokens: true),
                        ByteLevelTokenizerTests.streamed(ids, tokenizer))
            if ours.0 != ids || ours.1 != plain || ours.2 != decoded || ours.3 != decodedSkip || ours.4 != decodedSkip {
                differences += 1
                if differences <= 8 {
                    Issue.record("\(file) \(text.debugDescription): ids \(ours.0) vs \(ids), plain \(ours.1) vs \(plain), decoded \(ours.2.debugDescription) vs \(decoded.debugDescription), skip \(ours.3.debugDescription) / streamed \(ours.4.debugDescription) vs \(decodedSkip.debugDescription)")
                }
            }
        }
        #expect(checked > 300)
        #expect(differences == 0)
    }

    /// The files hold every combination of the five flags (the script checks what it saved;
    /// this checks what eah read).
    @Test(arguments: ["internvl", "smolvlm", "spm"])
    func everyFlagCombinationIsRead(file: String) throws {
        let tokenizer = try TokenizerJSONFile.load(path: Fixtures.path("tokenizer-added/\(file).json"))
        let combinations = Set(tokenizer.addedTokens.map { [$0.special, $0.normalized, $0.lstrip, $0.rstrip, $0.singleWord] })
        #expect(combinations.count == 32)
    }
}
