import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// Gemma 3 in eah-run's chat and in eval, for the transformers folder (tools/make_gemma3_fixtures.py)
/// and llama.cpp's GGUF pair (tools/make_gemma3_gguf_fixtures.py): the chat's first answer is a
/// one-shot eah-run's, its second turn a fresh run of the whole conversation (the soft tokens'
/// two-way attention kept in the reused cache); POPE runs with and without EAH.
@Suite("Gemma 3 in chat and eval")
struct Gemma3ChatTests {
    static let image = Fixtures.path("images/valid/rgb_37x53.png")
    static let sources: [[String]] = [[Gemma3Tests.folder], [Gemma3GGUFTests.text, "--mmproj", Gemma3GGUFTests.mmproj]]

    @Test("eah-run --chat answers its first message as a one-shot eah-run does, with dynamic EAH and without", arguments: sources)
    func chatCommand(_ source: [String]) throws {
        for extra in [[String](), ["--eah-layer", "0,1", "--eah-beta", "0.03", "--eah-phase", "all"]] {
            let once = try CommandRunner.run("eah-run", source + ["--image", Self.image, "--prompt", "What is in the picture?", "--max-tokens", "5"] + extra)
            #expect(once.status == 0, "\(once.stderr)")
            let chat = try CommandRunner.run("eah-run", source + ["--chat", "--image", Self.image, "--max-tokens", "5"] + extra,
                                             standardInput: Data("What is in the picture?\n".utf8))
            #expect(chat.status == 0, "\(chat.stderr)")
            #expect(!once.stdout.isEmpty && chat.stdout == once.stdout, "\(extra)")
        }
    }

    @Test("a chat's second turn reuses the cache and answers as a fresh run of the whole conversation", arguments: sources)
    func chatReusesTheCache(_ source: [String]) throws {
        let pipeline = try ModelPipeline(model: source[0], mmproj: source.count > 2 ? source[2] : nil)
        let conversation = ChatConversation(pipeline: pipeline, hook: nil, maxTokens: 6)
        let image = try pipeline.image(path: Fixtures.path("images/valid/rgb_301x97_444.jpg"))
        conversation.attachImage(image)
        let first = try conversation.send("Count the dogs, please!")
        let firstPrompt = try pipeline.prompt(messages: [ChatMessage(role: .user, text: "Count the dogs, please!", hasImage: true)], images: [image])
        #expect(firstPrompt.image.count == 16)
        let second = try conversation.send("Is it gray?")
        #expect(conversation.reusedPositions >= firstPrompt.tokens.count)
        let whole = try pipeline.prompt(messages: Array(conversation.messages.dropLast()), images: [image])
        let fresh = try pipeline.model.generate(whole, images: [image], maxTokens: 6, stopTokens: pipeline.stopTokens)
        #expect(!first.isEmpty)
        #expect(second == (try pipeline.tokenizer.decode(fresh.tokens.filter { !pipeline.stopTokens.contains($0) })))
    }

    @Test("eval (POPE) runs on Gemma 3 with and without EAH")
    func eval() throws {
        let directory = TemporaryDirectory()
        for name in ["rgb_37x53.png", "rgb_301x97_444.jpg"] {
            try FileManager.default.copyItem(atPath: Fixtures.path("images/valid/\(name)"), toPath: directory.file(name))
        }
        let annotations = """
            {"images": [{"id": 1, "file_name": "rgb_37x53.png"}, {"id": 2, "file_name": "rgb_301x97_444.jpg"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1}, {"id": 2, "image_id": 2, "category_id": 2}],
             "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "car"}]}
            """
        let data = directory.write("instances.json", Array(annotations.utf8))
        for flags in [["--eah-layer", "0,1"], ["--no-eah"]] {
            let result = try CommandRunner.run("eah-convert", ["eval", Gemma3Tests.folder, "--data", data, "--images", directory.path, "--metric", "pope",
                                                              "--max-tokens", "3", "--json"] + flags)
            #expect(result.status == 0, "\(result.stderr)")
            let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(document["metric"] == .string("pope") && document["eah"] == .bool(flags != ["--no-eah"]))
        }
    }
}
