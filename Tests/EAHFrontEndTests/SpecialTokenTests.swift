import EAHFrontEnd
import EAHTestSupport
import Testing

/// Text that spells special tokens, checked against ids printed by sentencepiece 0.2.3 and
/// tokenizers 0.23.3 on the fixtures.
@Suite struct SpecialTokenTests {
    @Test func sentencePieceTreatsControlTokensAsText() throws {
        let tokenizer = try SentencePieceModelFile.load(path: Fixtures.path("tokenizer/tokenizer.model"))
        #expect(tokenizer.encode("<s>", addBOS: false) == [1134, 64, 1143, 66])
        #expect(tokenizer.encode("</s>", addBOS: false) == [1134, 64, 51, 1143, 66])
        #expect(tokenizer.encode("<unk>", addBOS: false) == [1134, 64, 1148, 1138, 1155, 66])
        #expect(tokenizer.encode("<image>", addBOS: false) == [1134, 64, 1141, 347, 66])
        // User-defined symbols are matched whole, with no ▁ added after them.
        #expect(tokenizer.encode("<sep>", addBOS: false) == [1134, 3])
        #expect(tokenizer.encode("a<sep>b") == [1, 280, 3, 1150])
        #expect(tokenizer.encode("") == [1])
        #expect(tokenizer.encode("", addBOS: false) == [])
        // Control pieces decode to nothing; the first piece's ▁ is dropped.
        #expect(try tokenizer.decode([1, 280, 3, 1150, 2]) == "a<sep>b")
        #expect(tokenizer.vocabulary.id(of: "<0x41>") == 69)  // after <unk> <s> </s> <sep>
    }

    @Test func tokenizerJSONMatchesAddedTokensWhole() throws {
        let tokenizer = try TokenizerJSONFile.load(path: Fixtures.path("tokenizer/tokenizer.json"))
        #expect(tokenizer.encode("<image>") == [1, 1500])
        #expect(tokenizer.encode("USER: <image>\nWhat") == [1, 778, 1182, 73, 1329, 1175, 1134, 1500, 1134, 14, 1169, 1142, 269])
        // <mask> has lstrip and rstrip: it swallows the spaces around it.
        #expect(tokenizer.encode("a <mask> b") == [1, 280, 1502, 264])
        // Special tokens spelled in the text are matched; the legacy normalizer prefixes each text piece with ▁.
        #expect(tokenizer.encode("<s>hello</s>") == [1, 1, 438, 294, 1137, 2])
        #expect(tokenizer.encode("a<sep>b") == [1, 280, 3, 264])
        #expect(try tokenizer.decode([1, 1500, 438, 294, 1137, 2], skipSpecialTokens: false) == "<s><image> hello</s>")
        #expect(try tokenizer.decode([1, 1500, 438, 294, 1137, 2]) == "hello")
        #expect(tokenizer.bosID == 1 && tokenizer.eosID == 2)
        let image = try #require(tokenizer.addedTokens.first { $0.content == "<image>" })
        #expect(image == AddedToken(id: 1500, content: "<image>", special: true))
    }

    @Test func tokenizerFileDetectsTheFormat() throws {
        let model = try TokenizerFile.load(path: Fixtures.path("tokenizer/tokenizer.model"))
        let gguf = try TokenizerFile.load(path: Fixtures.path("tokenizer/tokenizer.gguf"))
        let json = try TokenizerFile.load(path: Fixtures.path("tokenizer/tokenizer.json"))
        #expect(model is SentencePieceTokenizer && gguf is SentencePieceTokenizer && json is HuggingFaceTokenizer)
        #expect(model.vocabularySize == 1500 && gguf.vocabularySize == 1500 && json.vocabularySize == 1503)
        let text = "USER: <image>\nDescribe the picture 😀 ✨ 12345"
        #expect(model.encode(text) == gguf.encode(text))
    }
}
