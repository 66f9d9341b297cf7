import EAH
import EAHCheckpoint
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

extension HostileInputTests {
    @Test("11. a FIFO as checkpoint, shard or image is refused at once")
    func fifosAreRefused() throws {
        let directory = TemporaryDirectory()
        let fifo = directory.file("pipe.safetensors")
        #expect(mkfifo(fifo, 0o600) == 0)
        let inspect = try CommandRunner.run("eah-convert", ["inspect", fifo])
        #expect(inspect.status == 1)
        #expect(inspect.stderr.contains("\(fifo): is not a regular file (a FIFO, socket or device)"), "\(inspect.stderr)")
        directory.write("model.safetensors.index.json", Array("{\"weight_map\": {\"a\": \"pipe.safetensors\"}}".utf8))
        let shard = try CommandRunner.run("eah-convert", ["inspect", directory.file("model.safetensors.index.json")])
        #expect(shard.status == 1)
        #expect(shard.stderr.contains("is not a regular file"), "\(shard.stderr)")
        let image = try CommandRunner.run("eah-run", [Self.tiny, "--image", fifo, "--prompt", "What is this?"])
        #expect(image.status == 1)
        #expect(image.stderr.contains("is not a regular file"), "\(image.stderr)")
        let data = directory.write("data.jsonl", Array("{\"image\": \"pipe.safetensors\", \"prompt\": \"Describe.\"}\n".utf8))
        let calibrate = try CommandRunner.run("eah-convert", ["calibrate", Self.tiny, "--data", data, "--layers", "0-1", "-o", directory.file("r.json")])
        #expect(calibrate.status == 1)
        #expect(calibrate.stderr.contains("is not a regular file"), "\(calibrate.stderr)")
    }

    @Test("11. a NUL byte in a calibration image path, and --temperature nan, are refused")
    func nulPathsAndNaN() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: Fixtures.path("e2e/rgb_37x53_420.jpg"), toPath: directory.file("a.jpg"))
        let data = directory.write("data.jsonl", Array("{\"image\": \"a.jpg\\u0000.png\", \"prompt\": \"Describe.\"}\n".utf8))
        let calibrate = try CommandRunner.run("eah-convert", ["calibrate", Self.tiny, "--data", data, "--layers", "0-1", "-o", directory.file("r.json")])
        #expect(calibrate.status == 1)
        #expect(calibrate.stderr.contains("line 1: the image path is empty or holds a NUL byte"), "\(calibrate.stderr)")
        let nan = try CommandRunner.run("eah-run", [Self.tiny, "--image", directory.file("a.jpg"), "--prompt", "Hi", "--temperature", "nan"])
        #expect(nan.status == 2)
        #expect(nan.stderr.contains("--temperature must be a number, 0 or more"), "\(nan.stderr)")
    }

    @Test("11. a config without image_token_index is named as the problem, not the prompt")
    func missingImageTokenIndexNamesTheConfig() throws {
        let directory = TemporaryDirectory()
        let model = directory.file("model")
        try FileManager.default.copyItem(atPath: Self.tiny, toPath: model)
        let config = model + "/config.json"
        var text = try String(contentsOfFile: config, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"image_token_index\": 1500,", with: "")
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let result = try CommandRunner.run("eah-run", [model, "--image", Fixtures.path("e2e/rgb_37x53_420.jpg"), "--prompt", "What is this?"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("\(config): image_token_index is 32000 (32000 when config.json does not set it) but the tokenizer's <image> token is 1500; set \"image_token_index\": 1500 in config.json"), "\(result.stderr)")
    }
}
