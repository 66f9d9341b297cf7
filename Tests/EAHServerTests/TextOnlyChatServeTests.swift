import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// A text-only model (textonly/tiny-llama, a LlamaForCausalLM: no vision tower) in `--chat` and
/// `--serve`: it converses and serves text as `eah-run --prompt` answers, and an image is refused.
@Suite("text-only models in --chat and --serve", .serialized)
struct TextOnlyChatServeTests {
    static let model = Fixtures.path("textonly/tiny-llama")
    static let image = Fixtures.path("images/valid/rgb_37x53.png")

    static func answer(_ question: String, _ extra: [String] = []) throws -> String {
        let result = try CommandRunner.run("eah-run", [model, "--prompt", question, "--max-tokens", "6"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return String(result.stdout.dropLast())  // the newline after the answer
    }

    @Test("a second turn reuses the cache and answers as a fresh run of the whole conversation")
    func conversation() throws {
        let pipeline = try ModelPipeline(model: Self.model)
        let conversation = ChatConversation(pipeline: pipeline, hook: nil, maxTokens: 6)
        #expect(!conversation.takesImages)
        let first = try conversation.send("Name three colors.")
        #expect(first == (try Self.answer("Name three colors.")))
        let firstPrompt = try pipeline.prompt(messages: [ChatMessage(role: .user, text: "Name three colors.")])
        let second = try conversation.send("And two more?")
        #expect(conversation.reusedPositions >= firstPrompt.tokens.count)
        let whole = try pipeline.prompt(messages: Array(conversation.messages.dropLast()))
        let fresh = try pipeline.model.generate(whole, images: [], maxTokens: 6, stopTokens: pipeline.stopTokens)
        #expect(second == (try pipeline.tokenizer.decode(fresh.tokens.filter { !pipeline.stopTokens.contains($0) })))
        // An image is refused before it is read (these bytes are no image at all).
        for (origin, read) in [(Self.image, { () throws(CheckpointError) in _ = try pipeline.image(path: Self.image) }),
                               ("data URL", { () throws(CheckpointError) in _ = try pipeline.image(bytes: [0x89, 0x50], origin: "data URL") })] {
            do throws(CheckpointError) {
                try read()
                Issue.record("\(origin): an image was taken")
            } catch {
                #expect(error.path == origin)
                #expect(error.problem as? ModelProblem == .noVisionTower, "\(error)")
            }
        }
    }

    @Test("eah-run --chat: answers as eah-run --prompt; /image is refused and the chat goes on")
    func chat() throws {
        let script = "Name three colors.\n/image \(Self.image)\n/reset\nName three colors.\n"
        let result = try CommandRunner.run("eah-run", [Self.model, "--chat", "--max-tokens", "6"], standardInput: Data(script.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try Self.answer("Name three colors.")
        #expect(result.stdout == expected + "\n" + expected + "\n")
        #expect(result.stderr == "/image: this model has no vision tower, so it takes no image; chat in text, "
                + "or start eah-run --chat with a vision-language model (or a GGUF with its --mmproj)\n")
        // --image at start-up, and EAH, are refused.
        let pictured = try CommandRunner.run("eah-run", [Self.model, "--chat", "--image", Self.image], standardInput: Data())
        #expect(pictured.status == 2)
        #expect(pictured.stderr == "eah-run: \(Self.image): the model has no vision tower (a text-only checkpoint, or a llama.cpp text GGUF "
                + "without its --mmproj): it takes no image; drop --image/--pixel-values and <image>, or pass the mmproj\n")
        let eah = try CommandRunner.run("eah-run", [Self.model, "--chat", "--eah-layer", "0"], standardInput: Data())
        #expect(eah.status == 2)
        #expect(eah.stderr == "eah-run: EAH needs an image and this text-only model takes none: drop --eah-layer to run it on text\n")
    }

    @Test("eah-run --serve: text answered as eah-run answers it; an image part is a 400 in OpenAI's shape")
    func serve() throws {
        let server = try ServerProcess("eah-run", [Self.model, "--serve", "--port", "0", "--max-tokens", "6"])
        let url = try server.baseURL + "/v1/chat/completions"
        let text = #"{"model": "tiny-llama", "temperature": 0.7, "seed": 5, "messages": [{"role": "user", "content": "Name three colors."}]}"#
        let response = try Curl.post(url, json: text)
        #expect(response.status == 200, "\(response.body)")
        #expect(try content(response) == (try Self.answer("Name three colors.", ["--temperature", "0.7", "--seed", "5"])))
        let refused = try Curl.post(url, json: try imageRequest(Self.image))
        #expect(refused.status == 400)
        #expect(refused.headers["content-type"] == "application/json")
        let error = try JSONParser.parse(refused.body)["error"]
        #expect(error?["type"] == .string("invalid_request_error"))
        #expect(error?["code"] == .string("image_not_supported"))
        #expect(error?["param"] == .string("messages"))
        #expect(error?["message"] == .string("image_url parts are not supported by model 'tiny-llama': it has no vision tower (a text-only model); send the messages as text"))
        // The server still answers after the refusal.
        #expect(try Curl.post(url, json: text).status == 200)
    }
}
