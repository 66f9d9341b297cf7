import Dispatch
import EAHCheckpoint
import EAHRuntime
@testable import EAHServer
import EAHTestSupport
import Foundation
import Synchronization
import Testing

@Suite("the server's queue")
struct ServerQueueTests {
    @Test("a full queue answers 503 with Retry-After; the next request after it drains is served")
    func fullQueue() async throws {
        let pipeline = try ModelPipeline(model: DemoModel.path)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.queueCapacity = 0
        configuration.maxTokens = 4
        let server = ChatCompletionServer(model: ServedModel(name: "demo", pipeline: pipeline, hook: nil, eahApplied: false),
                                          configuration: configuration)
        let port = Mutex<Int?>(nil)
        let task = Task { try await server.run { _, bound in port.withLock { $0 = bound } } }
        defer { task.cancel() }
        var bound: Int?
        for _ in 0..<600 where bound == nil {
            try await Task.sleep(nanoseconds: 50_000_000)
            bound = port.withLock { $0 }
        }
        let url = "http://127.0.0.1:\(try #require(bound))/v1/chat/completions"
        let body = #"{"messages": [{"role": "user", "content": "Hello"}]}"#

        // The worker is held busy; with no room to wait, a request is turned away at once.
        let gate = DispatchSemaphore(value: 0)
        #expect(server.service.worker.submit { gate.wait() })
        let busy = try Curl.post(url, json: body)
        #expect(busy.status == 503)
        #expect(busy.headers["retry-after"].flatMap(Int.init).map { $0 >= 1 } == true)
        #expect(try JSONParser.parse(busy.body)["error"]?["code"] == .string("queue_full"))
        gate.signal()
        while server.service.worker.pendingCount > 0 { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(try Curl.post(url, json: body).status == 200)

        // This server has no EAH to apply: asking for it is a 400.
        let eah = try Curl.post(url, json: #"{"eah": true, "messages": [{"role": "user", "content": "Hello"}]}"#)
        #expect(eah.status == 400)
        #expect(try JSONParser.parse(eah.body)["error"]?["code"] == .string("eah_unavailable"))
    }
}
