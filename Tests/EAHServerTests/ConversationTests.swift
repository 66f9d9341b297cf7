import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHTestSupport
import Testing

/// The demo model (models/demo-llava) and its eval images.
enum DemoModel {
    static let path = Fixtures.root + "/../../models/demo-llava"
    static func image(_ index: Int) -> String { Fixtures.root + "/../../data/demo/eval/eval_000\(index).png" }
}

@Suite("conversations: templates over many turns, the KV cache reused")
struct ConversationTests {
    static let messages = [
        ChatMessage(role: .system, text: "Be brief."), ChatMessage(role: .user, text: "What is this?", hasImage: true),
        ChatMessage(role: .assistant, text: "A star."), ChatMessage(role: .user, text: "What color?"),
    ]

    @Test("a Jinja template renders a multi-turn chat as transformers does")
    func jinjaMultiTurn() throws {
        let template = try ConversationTemplate.resolve(modelDirectory: DemoModel.path)
        // transformers 5.24: AutoProcessor.from_pretrained("models/demo-llava").apply_chat_template(
        //   <these messages as content parts>, add_generation_prompt=True, tokenize=False)
        #expect(try template.render(messages: Self.messages) == "Be brief. USER: <image>\nWhat is this? ASSISTANT: A star. USER: What color? ASSISTANT:")
    }

    @Test("vicuna_v1 follows LLaVA's SeparatorStyle.TWO over many turns")
    func vicunaMultiTurn() throws {
        // conv_vicuna_v1 (sep " ", sep2 "</s>"): system + sep, then "ROLE: message" + seps[i % 2].
        #expect(try ConversationTemplate.builtIn("vicuna_v1").render(messages: Self.messages)
                == "Be brief. USER: <image>\nWhat is this? ASSISTANT: A star.</s>USER: What color? ASSISTANT:")
    }

    @Test("one user message renders as the single-question prompt", arguments: ["vicuna_v1", "llava_hf", "plain"])
    func singleTurn(_ name: String) throws {
        let template = try ConversationTemplate.builtIn(name)
        let question = ChatMessage(role: .user, text: "Describe it.", hasImage: true)
        #expect(try template.render(messages: [question]) == template.render(prompt: "Describe it."))
        #expect(try template.render(messages: [ChatMessage(role: .system, text: "S."), question])
                == template.render(prompt: "Describe it.", systemPrompt: "S."))
    }

    @Test("a second turn reuses the cache and answers as a fresh run of the whole conversation")
    func cacheReuse() throws {
        let pipeline = try ModelPipeline(model: DemoModel.path)
        let conversation = ChatConversation(pipeline: pipeline, hook: nil, maxTokens: 24)
        let image = try pipeline.image(path: DemoModel.image(0))
        conversation.attachImage(image)
        let first = try conversation.send("Describe the image.")
        let firstPrompt = try pipeline.prompt(messages: [ChatMessage(role: .user, text: "Describe the image.", hasImage: true)], images: [image])
        #expect(conversation.reusedPositions == 0)
        var streamed = ""
        let second = try conversation.send("What shapes are there?") { streamed += $0 }
        #expect(streamed == second)
        // Everything up to the first answer's end was cached; the re-rendered answer may
        // tokenize differently at its boundary, so at least the first prompt is reused.
        #expect(conversation.reusedPositions >= firstPrompt.tokens.count)

        let whole = try pipeline.prompt(messages: Array(conversation.messages.dropLast()), images: [image])
        let fresh = try pipeline.model.generate(whole, images: [image], maxTokens: 24, stopTokens: pipeline.stopTokens)
        let freshText = try pipeline.tokenizer.decode(fresh.tokens.filter { !pipeline.stopTokens.contains($0) })
        #expect(!first.isEmpty)
        #expect(second == freshText)
    }

    @Test("a conversation holds one image: another starts a new conversation")
    func secondImage() throws {
        let pipeline = try ModelPipeline(model: DemoModel.path)
        let conversation = ChatConversation(pipeline: pipeline, hook: nil, maxTokens: 4)
        #expect(!conversation.attachImage(try pipeline.image(path: DemoModel.image(0))))
        try conversation.send("Describe the image.")
        #expect(conversation.attachImage(try pipeline.image(path: DemoModel.image(1))))
        #expect(conversation.messages.isEmpty)
    }

    @Test("a prompt longer than the context is refused before running")
    func tooLong() throws {
        let pipeline = try ModelPipeline(model: DemoModel.path)
        let long = String(repeating: "square ", count: 400)
        #expect {
            try pipeline.prompt(messages: [ChatMessage(role: .user, text: long)])
        } throws: { error in
            guard let error = error as? CheckpointError, case .promptTooLong(_, let context)? = error.problem as? ConversationProblem else { return false }
            return context == 256
        }
    }
}
