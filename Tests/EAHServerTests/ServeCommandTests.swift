import Synchronization
import Dispatch
import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// A bundle of the demo model and `eah-run --serve` on it, shared by the suite's tests.
final class ServedBundle: Sendable {
    let directory = TemporaryDirectory()
    let bundle: String
    let server: ServerProcess

    /// `patchArguments` make the bundle; the server gets `serveArguments` too.
    init(patchArguments: [String], serveArguments: [String] = []) throws {
        bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", DemoModel.path, "-o", bundle] + patchArguments)
        guard patch.status == 0 else { throw ServerProcess.StartFailure(stderr: patch.stderr) }
        server = try ServerProcess("eah-run", [bundle, "--serve", "--port", "0"] + serveArguments)
    }

    static func make(_ patchArguments: [String], _ serveArguments: [String] = []) -> Result<ServedBundle, any Error> {
        Result { try ServedBundle(patchArguments: patchArguments, serveArguments: serveArguments) }
    }
}

/// A request body about one image, as the tests send it.
func imageRequest(_ image: String, dataURL: Bool = true, extra: String = "") throws -> String {
    let url = dataURL ? "data:image/png;base64," + (try Data(contentsOf: URL(fileURLWithPath: image))).base64EncodedString() : image
    return """
        {"model": "bundle", "max_tokens": 20, "temperature": 0.7, "seed": 5\(extra), "messages": [{"role": "user", "content": [
          {"type": "image_url", "image_url": {"url": "\(url)"}}, {"type": "text", "text": "Describe the image."}]}]}
        """
}

/// `eah-run`'s answer to the same question, for comparison.
func runAnswer(_ model: String, image: String, extra: [String] = []) throws -> String {
    let result = try CommandRunner.run("eah-run", [model, "--image", image, "--prompt", "Describe the image.", "--max-tokens", "20",
                                                   "--temperature", "0.7", "--seed", "5"] + extra)
    #expect(result.status == 0, "\(result.stderr)")
    return String(result.stdout.dropLast())  // the newline after the answer
}

func content(_ response: Curl.Response) throws -> String? {
    let json = try JSONParser.parse(response.body)
    guard case .array(let choices)? = json["choices"], case .string(let text)? = choices.first?["message"]?["content"] else { return nil }
    return text
}

/// The `data:` events of a server-sent event stream.
func events(_ body: String) -> [String] {
    body.components(separatedBy: "\n\n").compactMap { $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : nil }
}

@Suite("eah-run --serve: the OpenAI API over HTTP", .serialized)
struct ServeCommandTests {
    static let served = ServedBundle.make(["--head", "0:0", "--head", "1:0"], ["--max-request-mib", "1", "--max-tokens", "24"])

    var server: ServerProcess { get throws { try Self.served.get().server } }
    var bundle: String { get throws { try Self.served.get().bundle } }

    @Test("non-streaming with an image: eah-run's answer, EAH applied and said so")
    func nonStreaming() throws {
        let response = try Curl.post(try server.baseURL + "/v1/chat/completions", json: try imageRequest(DemoModel.image(0)))
        #expect(response.status == 200, "\(response.body)")
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.headers["x-eah"] == "applied")
        let json = try JSONParser.parse(response.body)
        #expect(json["object"] == .string("chat.completion"))
        #expect(json["eah"] == .bool(true))
        #expect(json["choices"].flatMap { if case .array(let c) = $0 { c.first?["finish_reason"] } else { nil } } != nil)
        #expect(try content(response) == runAnswer(try bundle, image: DemoModel.image(0)))
    }

    @Test("streaming: server-sent events whose deltas add up to the same answer, then [DONE]")
    func streaming() throws {
        let response = try Curl.post(try server.baseURL + "/v1/chat/completions",
                                     json: try imageRequest(DemoModel.image(0), extra: #", "stream": true, "stream_options": {"include_usage": true}"#),
                                     extra: ["-N"])
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/event-stream")
        let data = events(response.body)
        #expect(data.last == "[DONE]")
        var text = "", reasons: [JSONValue] = [], usage: JSONValue?
        for event in data.dropLast() {
            let json = try JSONParser.parse(event)
            #expect(json["object"] == .string("chat.completion.chunk"))
            if json["usage"] != nil { usage = json["usage"] }
            guard case .array(let choices)? = json["choices"], let choice = choices.first else { continue }
            if case .string(let piece)? = choice["delta"]?["content"] { text += piece }
            if let reason = choice["finish_reason"], reason != .null { reasons.append(reason) }
        }
        #expect(reasons.count == 1)
        #expect(usage?["completion_tokens"] != nil)
        #expect(text == (try runAnswer(try bundle, image: DemoModel.image(0))))
    }

    @Test("\"eah\": false answers as eah-run --no-eah, and says so; a local file path works as a data URL")
    func eahOff() throws {
        let url = try server.baseURL + "/v1/chat/completions"
        let off = try Curl.post(url, json: try imageRequest(DemoModel.image(0), dataURL: false, extra: #", "eah": false"#))
        #expect(off.status == 200, "\(off.body)")
        #expect(try JSONParser.parse(off.body)["eah"] == .bool(false))
        #expect(off.headers["x-eah"] == "off")
        let expectedOff = try runAnswer(try bundle, image: DemoModel.image(0), extra: ["--no-eah"])
        #expect(try content(off) == expectedOff)
        // This bundle's EAH changes this answer, so the switch is seen to act.
        #expect(expectedOff != (try runAnswer(try bundle, image: DemoModel.image(0))))
    }

    @Test("stop sequences end the answer before them, streamed or not")
    func stopSequences() throws {
        let full = try runAnswer(try bundle, image: DemoModel.image(0))
        let words = full.split(separator: " ")
        try #require(words.count > 3, "the answer is long enough to cut: \(full)")
        let stop = " " + words[2]
        let cut = String(full[..<full.range(of: stop)!.lowerBound])
        let extra = #", "stop": ["never here", "\#(stop)"]"#
        let response = try Curl.post(try server.baseURL + "/v1/chat/completions", json: try imageRequest(DemoModel.image(0), extra: extra))
        #expect(try content(response) == cut)
        let json = try JSONParser.parse(response.body)
        guard case .array(let choices)? = json["choices"] else { Issue.record("no choices"); return }
        #expect(choices.first?["finish_reason"] == .string("stop"))
        let streamed = try Curl.post(try server.baseURL + "/v1/chat/completions",
                                     json: try imageRequest(DemoModel.image(0), extra: extra + #", "stream": true"#), extra: ["-N"])
        var text = ""
        for event in events(streamed.body).dropLast() {
            guard case .array(let choices)? = try JSONParser.parse(event)["choices"],
                  case .string(let piece)? = choices.first?["delta"]?["content"] else { continue }
            text += piece
        }
        #expect(text == cut)
    }

    @Test("bad requests: 4xx with OpenAI's error object")
    func badRequests() throws {
        let url = try server.baseURL + "/v1/chat/completions"
        func expectError(_ response: Curl.Response, _ status: Int, code: String?, _ comment: Comment) throws {
            #expect(response.status == status, comment)
            #expect(response.headers["content-type"] == "application/json", comment)
            let error = try JSONParser.parse(response.body)["error"]
            #expect(error?["code"] == (code.map(JSONValue.string) ?? .null), comment)
            #expect(error?["message"] != nil, comment)
        }
        try expectError(try Curl.post(url, json: "{\"messages\": [}"), 400, code: "invalid_json", "bad JSON")
        try expectError(try Curl.post(url, json: #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": "many"}"#), 400, code: nil, "wrong type")
        try expectError(try Curl.post(url, json: try imageRequest("/nonexistent/picture.png", dataURL: false)), 400, code: "image_not_found", "missing image")
        let notAnImage = imageRequest_(data: "aGVsbG8gd29ybGQ=")
        try expectError(try Curl.post(url, json: notAnImage), 400, code: "invalid_image", "undecodable image")
        let long = #"{"messages": [{"role": "user", "content": "\#(String(repeating: "square ", count: 400))"}]}"#
        try expectError(try Curl.post(url, json: long), 400, code: "context_length_exceeded", "prompt longer than the context")
        let oversized = #"{"messages": [{"role": "user", "content": "\#(String(repeating: "a", count: 2 << 20))"}]}"#
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("eah-oversized-\(getpid()).json").path
        try oversized.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try expectError(try Curl.request(["-H", "Content-Type: application/json", "--data-binary", "@" + path, url]), 413, code: "request_too_large", "oversized body")
        try expectError(try Curl.request([try server.baseURL + "/v1/nothing"]), 404, code: nil, "unknown route")
    }

    func imageRequest_(data: String) -> String {
        #"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,\#(data)"}}, {"type": "text", "text": "Hi"}]}]}"#
    }

    @Test("/health and /v1/models")
    func health() throws {
        let health = try Curl.request([try server.baseURL + "/health"])
        #expect(health.status == 200)
        #expect(try JSONParser.parse(health.body)["status"] == .string("ok"))
        let models = try Curl.request([try server.baseURL + "/v1/models"])
        let json = try JSONParser.parse(models.body)
        #expect(json["object"] == .string("list"))
        #expect(json["data"] == .array([.object([("id", .string("bundle")), ("object", .string("model")), ("created", .integer(0)),
                                                 ("owned_by", .string("eah")), ("eah", .bool(true))])]))
    }

    @Test("several clients at once: every one answered, none mixed up")
    func concurrentClients() throws {
        let url = try server.baseURL + "/v1/chat/completions"
        let bodies = try (0..<4).map { try imageRequest(DemoModel.image($0)) }
        let sequential = try bodies.map { try content(try Curl.post(url, json: $0)) }
        let results = Mutex<[Int: Curl.Response]>([:])
        DispatchQueue.concurrentPerform(iterations: bodies.count) { index in
            if let response = try? Curl.post(url, json: bodies[index]) { results.withLock { $0[index] = response } }
        }
        let concurrent = results.withLock { $0 }
        for index in bodies.indices {
            #expect(concurrent[index]?.status == 200, "client \(index)")
            #expect(try concurrent[index].flatMap(content) == sequential[index], "client \(index)")
        }
        #expect(Set(sequential.compactMap { $0 }).count > 1, "the four images get different answers")
    }

    @Test("a client that disconnects mid-stream: the server stops that answer and keeps serving")
    func disconnect() throws {
        let server = try self.server
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-N", "-H", "Content-Type: application/json", "--data-binary",
                          #"{"stream": true, "max_tokens": 200, "temperature": 1.5, "messages": [{"role": "user", "content": "Tell me about rings."}]}"#,
                          server.baseURL + "/v1/chat/completions"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        var received = ""
        while !received.contains("data: "), curl.isRunning || !received.isEmpty {
            let data = out.fileHandleForReading.availableData
            if data.isEmpty { break }
            received += String(decoding: data, as: UTF8.self)
        }
        #expect(received.contains("data: "))
        curl.terminate()
        curl.waitUntilExit()
        // The queue drains (the abandoned answer ends) and the next client is answered.
        var pending: JSONValue?
        for _ in 0..<200 {
            pending = try JSONParser.parse(try Curl.request([server.baseURL + "/health"]).body)["pending"]
            if pending == .integer(0) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(pending == .integer(0))
        let next = try Curl.post(server.baseURL + "/v1/chat/completions", json: try imageRequest(DemoModel.image(1)))
        #expect(next.status == 200)
        #expect(server.process.isRunning)
    }

    @Test("the openai Python client: streaming and not, an image, EAH on and off, a bad request",
          .enabled(if: OpenAIClient.python != nil, OpenAIClient.skipMessage))
    func openAIClient() throws {
        let python = try #require(OpenAIClient.python)
        let result = try CommandRunner.run(executable: python, [OpenAIClient.script, try server.baseURL + "/v1", DemoModel.image(2)])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONParser.parse(result.stdout)
        let expected = try runAnswer(try bundle, image: DemoModel.image(2))
        #expect(json["text"] == .string(expected))
        #expect(json["stream_text"] == .string(expected))
        #expect(json["eah"] == .bool(true))
        #expect(json["no_eah"] == .bool(false))
        #expect(json["no_eah_text"] == .string(try runAnswer(try bundle, image: DemoModel.image(2), extra: ["--no-eah"])))
        #expect(json["bad_request"] == .object([("status", .integer(400)), ("param", .string("temperature"))]))
        #expect(json["finish_reason"] != nil && json["stream_finish_reason"] == json["finish_reason"])
    }
}

@Suite("eah-run --serve on a baked bundle")
struct BakedServeTests {
    static let served = ServedBundle.make(["--head", "0:0", "--head", "1:0", "--bake"])

    @Test("\"eah\": false runs the original rows, as eah-run --no-eah does")
    func bakedOff() throws {
        let served = try Self.served.get()
        let url = served.server.baseURL + "/v1/chat/completions"
        let on = try Curl.post(url, json: try imageRequest(DemoModel.image(0)))
        let off = try Curl.post(url, json: try imageRequest(DemoModel.image(0), extra: #", "eah": false"#))
        #expect(try content(on) == runAnswer(served.bundle, image: DemoModel.image(0)))
        #expect(try content(off) == runAnswer(served.bundle, image: DemoModel.image(0), extra: ["--no-eah"]))
        #expect(try JSONParser.parse(off.body)["eah"] == .bool(false))
    }
}

/// The Python with the `openai` package that `make test` installs (`.venv-openai`).
enum OpenAIClient {
    static let root = Fixtures.root + "/../.."
    static let script = root + "/tools/openai_client_check.py"
    static let python: String? = {
        let candidate = root + "/.venv-openai/bin/python"
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()
    static let skipMessage: Comment = "the openai client's environment .venv-openai is absent: `make test` (or `make openai-venv`) creates it"
}
