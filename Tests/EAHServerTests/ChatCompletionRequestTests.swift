import EAHFrontEnd
import EAHServerAPI
import Testing

@Suite("chat-completions requests")
struct ChatCompletionRequestTests {
    static func parse(_ text: String) throws(APIError) -> ChatCompletionRequest {
        try ChatCompletionRequest(body: Array(text.utf8))
    }

    static func error(_ text: String) -> APIError? {
        do throws(APIError) {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("every field the server reads, with text and image parts")
    func fullRequest() throws {
        let request = try Self.parse("""
            {"model": "m", "stream": true, "stream_options": {"include_usage": true}, "temperature": 0.5, "top_p": 0.9,
             "max_tokens": 12, "seed": 7, "stop": ["\\n", "END"], "eah": false, "n": 1, "frequency_penalty": 0,
             "messages": [{"role": "developer", "content": "Be brief."},
                          {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K"}},
                                                       {"type": "text", "text": "What is it?"}]},
                          {"role": "assistant", "content": "A star."},
                          {"role": "user", "content": [{"type": "text", "text": "Colour?"}, {"type": "text", "text": "Size?"}]}]}
            """)
        #expect(request.messages == [
            ChatMessage(role: .system, text: "Be brief."), ChatMessage(role: .user, text: "What is it?", hasImage: true),
            ChatMessage(role: .assistant, text: "A star."), ChatMessage(role: .user, text: "Colour?\nSize?"),
        ])
        #expect(request.image == .data(mediaType: "image/png", base64: "iVBORw0K"))
        #expect(request.stream && request.includeUsage)
        #expect(request.temperature == 0.5 && request.topP == 0.9 && request.maxTokens == 12 && request.seed == 7)
        #expect(request.stop == ["\n", "END"])
        #expect(request.eah == false)
    }

    @Test("local images: absolute paths and file URLs; network URLs are refused")
    func imageReferences() throws {
        func image(_ url: String) throws(APIError) -> ChatCompletionRequest.ImageReference? {
            try Self.parse(#"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "\#(url)"}}]}]}"#).image
        }
        #expect(try image("/tmp/a.png") == .file("/tmp/a.png"))
        #expect(try image("file:///tmp/a.png") == .file("/tmp/a.png"))
        #expect(Self.error(#"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]}"#)?.code == "invalid_image")
        #expect(Self.error(#"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png,abc"}}]}]}"#)?.code == "invalid_image")
    }

    @Test("bad JSON and wrong types are 400s naming the field")
    func badRequests() {
        let bad = Self.error("{\"messages\": [")
        #expect(bad?.status == 400)
        #expect(bad?.code == "invalid_json")
        #expect(bad?.message == "the body is not valid JSON: JSON text ends unexpectedly at byte 14")
        let cases: [(String, String, String)] = [
            ("[]", "the body must be a JSON object", ""),
            ("{}", "'messages' is required", "messages"),
            (#"{"messages": "hi"}"#, "'messages' must be an array", "messages"),
            (#"{"messages": []}"#, "'messages' must hold at least one message", "messages"),
            (#"{"messages": [{"role": "user", "content": 3}]}"#, "'messages[0].content' must be a string or an array of content parts", "messages[0].content"),
            (#"{"messages": [{"role": "robot", "content": "x"}]}"#, "role 'robot' is not supported (system, developer, user or assistant)", "messages[0].role"),
            (#"{"messages": [{"role": "user", "content": [{"type": "audio"}]}]}"#, "content part type 'audio' is not supported (text or image_url)", "messages[0].content[0].type"),
            (#"{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#, "'messages[0].content[0].image_url' must be an object with a 'url'", "messages[0].content[0].image_url"),
            (#"{"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}"#, "'temperature' must be a number", "temperature"),
            (#"{"messages": [{"role": "user", "content": "x"}], "temperature": 3}"#, "'temperature' must be between 0.0 and 2.0", "temperature"),
            (#"{"messages": [{"role": "user", "content": "x"}], "top_p": 0}"#, "'top_p' must be greater than 0", "top_p"),
            (#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5}"#, "'max_tokens' must be an integer", "max_tokens"),
            (#"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#, "'max_tokens' must be at least 1", "max_tokens"),
            (#"{"messages": [{"role": "user", "content": "x"}], "stream": "yes"}"#, "'stream' must be true or false", "stream"),
            (#"{"messages": [{"role": "user", "content": "x"}], "eah": 0}"#, "'eah' must be true or false", "eah"),
            (#"{"messages": [{"role": "user", "content": "x"}], "stop": [1]}"#, "'stop' must be a string or an array of strings", "stop"),
            (#"{"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]}"#, "'stop' holds at most 4 sequences", "stop"),
            (#"{"messages": [{"role": "user", "content": "x"}], "n": 2}"#, "'n' must be 1: one choice per request", "n"),
            (#"{"messages": [{"role": "user", "content": "x"}], "model": 5}"#, "'model' must be a string", "model"),
        ]
        for (body, message, param) in cases {
            let error = Self.error(body)
            #expect(error?.status == 400, "\(body)")
            #expect(error?.message == message, "\(body)")
            #expect(error?.param == (param.isEmpty ? nil : param), "\(body)")
        }
    }

    @Test("one image per conversation")
    func twoImages() {
        let part = #"{"type": "image_url", "image_url": {"url": "/a.png"}}"#
        let error = Self.error(#"{"messages": [{"role": "user", "content": [\#(part)]}, {"role": "user", "content": [\#(part)]}]}"#)
        #expect(error?.message == "the model takes one image per conversation; this one has more")
        #expect(error?.param == "messages[1].content")
    }

    @Test("the error body is OpenAI's error object")
    func errorJSON() {
        let error = APIError.invalid("bad", param: "x", code: "c")
        #expect(error.json.serialized == #"{"error":{"message":"bad","type":"invalid_request_error","param":"x","code":"c"}}"#)
    }

    @Test("base64: RFC 4648's test vectors; other bytes refused")
    func base64() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.decode(encoded[...].utf8) == Array(plain.utf8), "\(encoded)")
        }
        #expect(Base64.decode("Zm9v YmFy"[...].utf8) == nil)
        #expect(Base64.decode("Z"[...].utf8) == nil)
    }

    @Test("stop sequences: cut at the first, held back while they might start, across pieces")
    func stopSequences() {
        var filter = StopSequenceFilter(["END", "\n\n"])
        #expect(filter.feed("Hello E") == "Hello ")
        #expect(filter.feed("N") == "")
        #expect(filter.feed("Dless") == "")
        #expect(filter.stopped)
        #expect(filter.finish() == "")

        var open = StopSequenceFilter(["END"])
        #expect(open.feed("a bEN") == "a b")
        #expect(open.feed("x") == "ENx")
        #expect(open.feed("E") == "")
        #expect(open.finish() == "E")
        #expect(!open.stopped)

        var newline = StopSequenceFilter(["\n\n"])
        #expect(newline.feed("one\ntwo\n") == "one\ntwo")
        #expect(newline.feed("\nthree") == "")
        #expect(newline.stopped)
    }
}
