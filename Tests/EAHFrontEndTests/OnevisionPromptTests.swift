import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Testing

/// LLaVA-OneVision's prompt path from the model's own files (ChatML chat_template.jinja, the Qwen2
/// ByteLevel BPE tokenizer.json) against transformers 5.24's processor
/// (tools/make_llava_onevision_fixtures.py).
@Suite struct OnevisionPromptTests {
    static let folder = Fixtures.path("llava-onevision/tiny-llava-onevision-hf")

    static func expected() throws -> JSONValue {
        let file = try MappedFile(path: Fixtures.path("llava-onevision/expected.json"))
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    @Test func templateRendersAsTransformers() throws {
        let template = try ConversationTemplate.resolve(modelDirectory: Self.folder)
        guard case .string(let question)? = try Self.expected()["question"], case .string(let prompt)? = try Self.expected()["prompt"] else {
            Issue.record("expected.json lacks question/prompt"); return
        }
        #expect(try template.render(prompt: question) == prompt)
        #expect(prompt.hasPrefix("<|im_start|>user\n<image>\n"))
    }

    @Test("token ids equal the processor's, the image run collapsed to one <image>", arguments: ["wide", "huge"])
    func tokenIDs(_ image: String) throws {
        let tokenizer = try TokenizerFile.load(path: Self.folder + "/tokenizer.json")
        guard case .string(let prompt)? = try Self.expected()["prompt"], case .integer(let imageToken)? = try Self.expected()["image_token"] else {
            Issue.record("expected.json lacks prompt/image_token"); return
        }
        let ids = try #require(LlavaFixtures.integers("../llava-onevision/\(image).safetensors", "input_ids"))
        var collapsed: [Int] = []
        for id in ids where !(id == imageToken && collapsed.last == imageToken) { collapsed.append(id) }
        #expect(collapsed.filter { $0 == imageToken }.count == 1)
        #expect(tokenizer.encode(prompt, addBOS: true) == collapsed)
        #expect(tokenizer.bosID == nil)
    }

    @Test func textOnlyIDsEqualTheTokenizers() throws {
        let tokenizer = try TokenizerFile.load(path: Self.folder + "/tokenizer.json")
        guard case .string(let text)? = try Self.expected()["text_only"] else { Issue.record("expected.json lacks text_only"); return }
        let ids = try #require(LlavaFixtures.integers("../llava-onevision/text.safetensors", "input_ids"))
        #expect(tokenizer.encode(text, addBOS: true) == ids)
        #expect(try tokenizer.decode(ids) == text)
    }
}
