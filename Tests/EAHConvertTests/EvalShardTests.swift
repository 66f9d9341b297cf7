import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// `eval --shard` runs as separate processes, `eval --merge`, and what a result records.
@Suite("eah-convert eval shards, merges and records")
struct EvalShardTests {
    static let model = EvalCommandTests.model
    static let images = EvalCommandTests.images

    static func read(_ path: String) throws -> JSONValue {
        try JSONParser.parse(try String(contentsOfFile: path, encoding: .utf8))
    }

    /// The document without the members that name the shards.
    static func withoutShards(_ value: JSONValue) -> JSONValue {
        guard case .object(let members) = value else { return value }
        return .object(members.filter { $0.0 != "shards" })
    }

    @Test("chair and pope: shards run as separate processes merge into exactly the single run's result", arguments: ["chair", "pope"])
    func shardsMergeExactly(metric: String) throws {
        let folder = TemporaryDirectory()
        let data = EvalCommandTests.write(folder)
        let common = ["eval", Self.model, "--data", data, "--images", Self.images, "--metric", metric, "--max-tokens", "6", "--eah-layer", "1"]
        let whole = try CommandRunner.run("eah-convert", common + ["-o", folder.file("whole.json")])
        #expect(whole.status == 0, "\(whole.stderr)")
        for (index, shard) in ["0/3", "1/3", "2/3"].enumerated() {
            let part = try CommandRunner.run("eah-convert", common + ["--shard", shard, "-o", folder.file("s\(index).json")])
            #expect(part.status == 0, "\(part.stderr)")
        }
        let merge = try CommandRunner.run("eah-convert", ["eval", "--merge", folder.file("s2.json"), folder.file("s0.json"), folder.file("s1.json"),
                                                         "-o", folder.file("merged.json"), "--json"])
        #expect(merge.status == 0, "\(merge.stderr)")
        let single = try Self.read(folder.file("whole.json")), merged = try Self.read(folder.file("merged.json"))
        #expect(Self.withoutShards(merged) == Self.withoutShards(single))
        #expect(merged["shards"] == .array(["0/3", "1/3", "2/3"].map(JSONValue.string)))
        #expect(single["shards"] == .array([.string("0/1")]))
        #expect(merged["complete"] == .bool(true))
        #expect(try JSONParser.parse(merge.stdout.trimmingCharacters(in: .newlines)) == merged)
        #expect(try Self.read(folder.file("s1.json"))["samples"] == .integer(1))
    }

    @Test("tools/cluster/shards.slurm: array tasks as separate processes, then its merge, give the single run's result",
          arguments: ["eval", "calibrate"])
    func clusterScript(job: String) throws {
        let folder = TemporaryDirectory()
        let script = Fixtures.root + "/../../tools/cluster/shards.slurm"
        let arguments: String, whole: [String]
        if job == "eval" {
            let data = EvalCommandTests.write(folder)
            arguments = "--data \(data) --images \(Self.images) --metric pope --pope-sampling popular"
            whole = ["eval", Self.model, "--data", data, "--images", Self.images, "--metric", "pope", "--pope-sampling", "popular"]
        } else {
            let data = try CalibrateCommandTests.data(in: folder)
            arguments = "--data \(data) --layers 0-1 --beta 0.05"
            whole = ["calibrate", Self.model, "--data", data, "--layers", "0-1", "--beta", "0.05"]
        }
        let single = try CommandRunner.run("eah-convert", whole + ["-o", folder.file("whole.json")])
        #expect(single.status == 0, "\(single.stderr)")
        func task(_ environment: [String]) throws -> CommandRunner.Result {
            try CommandRunner.run(executable: "/usr/bin/env", environment + [
                "EAH_JOB=\(job)", "EAH_MODEL=\(Self.model)", "EAH_OUT=\(folder.file("results"))", "EAH_ARGS=\(arguments)",
                "EAH_BIN=\(CommandRunner.productsFolder)", "SLURM_CPUS_PER_TASK=1", "bash", script,
            ])
        }
        for index in 0..<3 {
            let shard = try task(["SLURM_ARRAY_TASK_ID=\(index)", "SLURM_ARRAY_TASK_COUNT=3"])
            #expect(shard.status == 0, "\(shard.stderr)")
        }
        let merge = try task([]) , merged = try CommandRunner.run(executable: "/usr/bin/env", [
            "EAH_JOB=\(job)", "EAH_OUT=\(folder.file("results"))", "EAH_BIN=\(CommandRunner.productsFolder)", "bash", script, "merge",
        ])
        #expect(merge.status != 0)  // without `merge` and outside an array job the script refuses to run
        #expect(merged.status == 0, "\(merged.stderr)")
        let expected = try Self.read(folder.file("whole.json")), actual = try Self.read(folder.file("results/merged.json"))
        if job == "eval" {
            #expect(Self.withoutShards(actual) == Self.withoutShards(expected))
        } else {
            #expect(actual["statistics"] == expected["statistics"] && actual["summary"] == expected["summary"])
            #expect(actual["shards"] == .array(["0/3", "1/3", "2/3"].map(JSONValue.string)))
        }
    }

    @Test("a result records the model digest, family, EAH settings, prompt, decoding, seed and tool version")
    func record() throws {
        let folder = TemporaryDirectory()
        let data = EvalCommandTests.write(folder)
        let answers = folder.file("answers.jsonl")
        let result = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", data, "--images", Self.images, "--metric", "pope",
                                                          "--pope-sampling", "random", "--seed", "5", "--eah-layer", "0,1", "--eah-beta", "0.01",
                                                          "--answers-out", answers, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines))
        let run = try #require(document["run"])
        let weights = try Data(contentsOf: URL(fileURLWithPath: Self.model + "/model.safetensors"))
        let fileDigest = Self.sha256Hex(weights)
        let modelDigest = Self.sha256Hex(Data("model.safetensors \(fileDigest)\n".utf8))
        #expect(run["model"] == .object([("digest", .string(modelDigest)), ("family", .string("llava-1.5")), ("layout", .string("llava-hf"))]))
        #expect(run["eah"] == .object([("applied", .bool(true)), ("source", .string("--eah-layer")), ("patches", .array([0, 1].map { layer in
            .object([("layer", .integer(layer)), ("selection", .string("dynamic")), ("beta", .number(0.01)), ("phase", .string("prefill")),
                     ("target_heads", .string("all"))])
        }))]))
        #expect(run["prompt"] == .string("Is there a {object} in the image?"))
        #expect(run["max_tokens"] == .integer(8))
        #expect(run["decoding"] == .object([("temperature", .integer(0)), ("method", .string("greedy"))]))
        #expect(run["seed"] == .integer(5))
        if case .string(let version)? = run["tool_version"] { #expect(!version.isEmpty) } else { Issue.record("no tool_version") }
        #expect(document["paths"]?["model"] == .string(Self.model))
        // One line per question, in the order of the figures: 12 random-sampling questions.
        let lines = try String(contentsOfFile: answers, encoding: .utf8).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        #expect(lines.count == 12)
        #expect(lines[0]["question"] == .string("Is there a person in the image?") && lines[0]["label"] == .string("yes"))
        let yes = lines.filter { $0["parsed"] == .string("yes") }.count
        let figures = try #require(document["random"])
        #expect(figures["true_positives"].flatMap { if case .integer(let v) = $0 { v } else { nil } }
                    .map { $0 + (figures["false_positives"].flatMap { if case .integer(let v) = $0 { v } else { nil } } ?? 0) } == yes)
    }

    static func sha256Hex(_ data: Data) -> String {
        let directory = TemporaryDirectory()
        let path = directory.file("blob")
        FileManager.default.createFile(atPath: path, contents: data)
        let result = try? CommandRunner.run(executable: "/usr/bin/sha256sum", [path])
        return String(result?.stdout.prefix(64) ?? "")
    }

    @Test("--merge refuses the same shard twice, overlapping shards, and results of another run")
    func mergeRefusals() throws {
        let folder = TemporaryDirectory()
        let data = EvalCommandTests.write(folder)
        let common = ["eval", Self.model, "--data", data, "--images", Self.images, "--metric", "chair", "--max-tokens", "2"]
        for (name, extra) in [("a", ["--shard", "0/2"]), ("b", ["--shard", "0/4"]), ("c", ["--shard", "1/2", "--prompt", "Describe it."]),
                              ("d", ["--shard", "1/2"])] {
            let result = try CommandRunner.run("eah-convert", common + extra + ["-o", folder.file(name + ".json")])
            #expect(result.status == 0, "\(result.stderr)")
        }
        func merge(_ names: [String]) throws -> CommandRunner.Result {
            try CommandRunner.run("eah-convert", ["eval", "--merge"] + names.map { folder.file($0 + ".json") } + ["-o", folder.file("m.json"), "--force"])
        }
        let twice = try merge(["a", "a"])
        #expect(twice.status == 1)
        #expect(twice.stderr == "eah-convert: \(folder.file("a.json")): cannot be merged: shard 0/2 is also in \(folder.file("a.json")); merge the disjoint --shard results of one eval command, each once\n")
        let overlap = try merge(["a", "b"])
        #expect(overlap.status == 1)
        #expect(overlap.stderr.contains("cannot be merged: shard 0/4 overlaps shard 0/2 of \(folder.file("a.json"))"))
        let other = try merge(["a", "c"])
        #expect(other.status == 1)
        #expect(other.stderr.contains("cannot be merged: its prompt differs from \(folder.file("a.json"))'s"))
        let partial = try merge(["a"])
        #expect(partial.status == 0)
        #expect(partial.stderr == "eah-convert: warning: the merged shards (0/2) do not cover every image; merge the other shards too\n")
        let good = try merge(["d", "a"])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(try Self.read(folder.file("m.json"))["samples"] == .integer(3))
        let broken = folder.write("broken.json", Array("{\"kind\": \"eah-eval-result\", \"schema\": 1}".utf8))
        let bad = try CommandRunner.run("eah-convert", ["eval", "--merge", broken, "-o", folder.file("x.json")])
        #expect(bad.status == 1)
        #expect(bad.stderr == "eah-convert: \(broken): is not a usable eval result: 'run' or 'paths' is missing; pass results written by eah-convert eval -o\n")
        // A count past 2^40 (adding such counts could overflow) is refused, not trusted.
        let huge = try String(contentsOfFile: folder.file("a.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"captions\": 2,", with: "\"captions\": 9223372036854775807,")
        let hugePath = folder.write("huge.json", Array(huge.utf8))
        let overflow = try CommandRunner.run("eah-convert", ["eval", "--merge", hugePath, folder.file("d.json"), "-o", folder.file("x.json")])
        #expect(overflow.status == 1)
        #expect(overflow.stderr == "eah-convert: \(hugePath): is not a usable eval result: 'captions' is not a count (0 to 2^40); pass results written by eah-convert eval -o\n")
        let usage = try CommandRunner.run("eah-convert", ["eval", "--merge", folder.file("a.json"), "--metric", "chair", "-o", folder.file("x.json")])
        #expect(usage.status == 2)
        #expect(usage.stderr == "eah-convert: --merge takes only results, -o, --force and --json: what was measured comes from the results\n")
    }
}
