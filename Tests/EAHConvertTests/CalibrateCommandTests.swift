import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// `eah-convert calibrate` (shards and merge) and the calibrate-then-patch main job.
@Suite("eah-convert calibrate and the main job")
struct CalibrateCommandTests {
    static let model = Fixtures.path("e2e/tiny-llava-hf")

    /// A JSONL of the e2e images with paths relative to the file.
    static func data(in directory: TemporaryDirectory) throws -> String {
        var lines: [String] = []
        for (index, name) in ["rgb_37x53_420.jpg", "exif6_45x31.jpg", "rgba_301x97.png"].enumerated() {
            let copy = directory.file(name)
            try FileManager.default.copyItem(atPath: Fixtures.path("e2e/" + name), toPath: copy)
            lines.append(JSONValue.object([("image", .string(name)), ("prompt", .string(index == 1 ? "What is this?" : "Describe the image."))]).serialized)
        }
        return directory.write("data.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    static func report(_ path: String) throws -> JSONValue {
        let file = try MappedFile(path: path)
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    @Test("shards merged equal the whole run; a heatmap is written beside each report")
    func shardsMerge() throws {
        let directory = TemporaryDirectory()
        let data = try Self.data(in: directory)
        func calibrate(_ extra: [String], _ name: String) throws {
            let result = try CommandRunner.run("eah-convert", ["calibrate", Self.model, "--data", data, "--layers", "0-1", "--beta", "0.05",
                                                              "-o", directory.file(name)] + extra)
            #expect(result.status == 0, "\(result.stderr)")
        }
        try calibrate([], "whole.json")
        try calibrate(["--shard", "0/2"], "s0.json")
        try calibrate(["--shard", "1/2"], "s1.json")
        let merge = try CommandRunner.run("eah-convert", ["calibrate", "--merge", directory.file("s0.json"), directory.file("s1.json"), "-o", directory.file("merged.json")])
        #expect(merge.status == 0, "\(merge.stderr)")
        let whole = try Self.report(directory.file("whole.json")), merged = try Self.report(directory.file("merged.json"))
        #expect(whole["schema"] == .integer(1))
        #expect(whole["samples"] == .integer(3))
        #expect(try Self.report(directory.file("s0.json"))["samples"] == .integer(2))
        #expect(merged["statistics"] == whole["statistics"])
        #expect(merged["summary"] == whole["summary"])
        #expect(merged["shards"] == .array([.string("0/2"), .string("1/2")]))
        guard case .array(let layers)? = whole["summary"], case .array(let heads)? = layers.first?["heads"] else {
            Issue.record("no summary")
            return
        }
        #expect(layers.count == 2)
        #expect(heads.count == 4)
        for name in ["whole.svg", "s0.svg", "merged.svg"] {
            let svg = try String(contentsOfFile: directory.file(name), encoding: .utf8)
            #expect(svg.hasPrefix("<svg") && svg.contains("layer 1"))
        }
    }

    @Test("bad shards and layers are bad usage; a broken data line is bad input")
    func badArguments() throws {
        let directory = TemporaryDirectory()
        let data = try Self.data(in: directory)
        let shard = try CommandRunner.run("eah-convert", ["calibrate", Self.model, "--data", data, "--shard", "2/2", "-o", directory.file("r.json")])
        #expect(shard.status == 2)
        #expect(shard.stderr.contains("--shard '2/2' is not I/N with 0 ≤ I < N"))
        let layer = try CommandRunner.run("eah-convert", ["calibrate", Self.model, "--data", data, "--layers", "0-5", "-o", directory.file("r.json")])
        #expect(layer.status == 2)
        #expect(layer.stderr.contains("layer 2 does not exist (the decoder has 2 layers)"))
        let broken = directory.write("broken.jsonl", Array("{\"image\": \"x.png\"}\n".utf8))
        let line = try CommandRunner.run("eah-convert", ["calibrate", Self.model, "--data", broken, "-o", directory.file("r.json")])
        #expect(line.status == 1)
        #expect(line.stderr.contains("line 1: needs string fields \"image\" and \"prompt\""))
        #expect(!FileManager.default.fileExists(atPath: directory.file("r.json")))
    }

    @Test("eah-convert MODEL --data DATA -o BUNDLE calibrates and patches in one command")
    func mainJob() throws {
        let directory = TemporaryDirectory()
        let data = try Self.data(in: directory)
        let bundle = directory.file("bundle")
        let result = try CommandRunner.run("eah-convert", [Self.model, "--data", data, "--layers", "0-1", "--beta", "0.05", "-o", bundle])
        #expect(result.status == 0, "\(result.stderr)")
        for name in ["manifest.pb", "model.safetensors", "config.json", "tokenizer.json", "calibration.json", "calibration.svg"] {
            #expect(FileManager.default.fileExists(atPath: bundle + "/" + name), "\(name)")
        }
        let inspect = try CommandRunner.run("eah-convert", ["inspect", bundle, "--json"])
        #expect(inspect.status == 0)
        let document = try JSONParser.parse(inspect.stdout.trimmingCharacters(in: .newlines))
        #expect(document["manifest"]?["calibration"]?["samples"] == .integer(3))
        let run = try CommandRunner.run("eah-run", [bundle, "--image", Fixtures.path("e2e/exif6_45x31.jpg"), "--prompt", "Describe the image.",
                                                   "--max-tokens", "4", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
    }
}
