import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// Bundles end to end: patch, run with EAH at load time, bake, unpatch, tampering.
@Suite("eah-convert patch / unpatch and eah-run on bundles")
struct BundleCommandTests {
    static let m2 = LlavaFixtures.path("m2-mha-gelu-full-tied/hf-legacy-safetensors")
    static let m1 = LlavaFixtures.path("m1-gqa-bias/hf-current")

    static func caseFile(_ name: String) -> String { Fixtures.path("eah/\(name).safetensors") }

    static func ids(_ name: String) throws -> String {
        try #require(LlavaFixtures.integers("../eah/\(name).safetensors", "input_ids")).map(String.init).joined(separator: ",")
    }

    /// Runs eah-run on a case's inputs and returns its logits.
    static func logits(_ model: String, case name: String, extra: [String] = [], tokens: Int = 5) throws -> [Float] {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", [model, "--input-ids", try ids(name), "--pixel-values", caseFile(name),
                                                      "--max-tokens", String(tokens), "--logits-out", out, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let reader = try SafetensorsReader(path: out)
        let tensor = try #require(reader.tensor(named: "logits"))
        return try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    static func expectClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-4, _ comment: Comment? = nil) {
        #expect(a.count == b.count, comment)
        let worst = zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        #expect(worst <= tolerance, "\(comment?.rawValue ?? "") max relative difference \(worst)")
    }

    static func patch(_ model: String, _ arguments: [String], into directory: TemporaryDirectory, name: String = "bundle") throws -> String {
        let bundle = directory.file(name)
        let result = try CommandRunner.run("eah-convert", ["patch", model, "-o", bundle] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return bundle
    }

    @Test("a static bundle runs EAH at load time as the reference does")
    func staticBundle() throws {
        let directory = TemporaryDirectory()
        let bundle = try Self.patch(Self.m2, ["--head", "1:2", "--beta", "0.045"], into: directory)
        let reference = try #require(LlavaFixtures.floats("../eah/m2_static_prefill.safetensors", "logits"))
        Self.expectClose(try Self.logits(bundle, case: "m2_static_prefill"), reference)
        let inspect = try CommandRunner.run("eah-convert", ["inspect", bundle])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("patch:    layer 1: static head 2, β 0.045, phase prefill, onto all heads"))
        #expect(inspect.stdout.contains("baked:    no"))
    }

    @Test("dynamic EAH on a plain model with --eah-layer equals the reference")
    func dynamicFlags() throws {
        let reference = try #require(LlavaFixtures.floats("../eah/m1_dynamic_all_l1.safetensors", "logits"))
        Self.expectClose(try Self.logits(Self.m1, case: "m1_dynamic_all_l1", extra: ["--eah-layer", "1", "--eah-beta", "0.055", "--eah-phase", "all"]), reference)
    }

    @Test("baked weights equal phase-all EAH at run time, and unpatch restores the weights bit for bit", arguments: ["m1", "m2"])
    func bakeAndUnpatch(_ model: String) throws {
        let directory = TemporaryDirectory()
        let source = model == "m1" ? Self.m1 : Self.m2
        let caseName = model == "m1" ? "m1_dynamic_all_l1" : "m2_static_all"
        let head = model == "m1" ? "1:3" : "1:0"
        let runtime = try Self.patch(source, ["--head", head, "--phase", "all"], into: directory, name: "runtime")
        let baked = try Self.patch(source, ["--head", head, "--bake"], into: directory, name: "baked")
        let runtimeLogits = try Self.logits(runtime, case: caseName)
        Self.expectClose(try Self.logits(baked, case: caseName), runtimeLogits, tolerance: 1e-5)
        if model == "m2" {
            Self.expectClose(runtimeLogits, try #require(LlavaFixtures.floats("../eah/m2_static_all.safetensors", "logits")))
        }
        // --no-eah on the baked bundle is the original model.
        Self.expectClose(try Self.logits(baked, case: caseName, extra: ["--no-eah"]), try Self.logits(source, case: caseName), tolerance: 1e-6)
        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", baked, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        let restoredWeights = try Data(contentsOf: URL(fileURLWithPath: restored + "/model.safetensors"))
        let runtimeWeights = try Data(contentsOf: URL(fileURLWithPath: runtime + "/model.safetensors"))
        #expect(restoredWeights == runtimeWeights)
        #expect(!FileManager.default.fileExists(atPath: restored + "/manifest.pb"))
    }

    @Test("a GGUF bundle bakes through the Q/K row permutation")
    func ggufBake() throws {
        let directory = TemporaryDirectory()
        let text = LlavaFixtures.path("m1-gqa-bias/gguf/text-f32.gguf"), mmproj = LlavaFixtures.path("m1-gqa-bias/gguf/mmproj-f32.gguf")
        let runtime = try Self.patch(text, ["--mmproj", mmproj, "--head", "0:2", "--phase", "all"], into: directory, name: "runtime")
        let baked = try Self.patch(text, ["--mmproj", mmproj, "--head", "0:2", "--bake"], into: directory, name: "baked")
        #expect(FileManager.default.fileExists(atPath: baked + "/model.gguf"))
        #expect(FileManager.default.fileExists(atPath: baked + "/eah_original_rows.gguf"))
        let ids = try #require(LlavaFixtures.integers("../eah/m1_plain.safetensors", "input_ids"))
        var marked: [String] = []
        for id in ids where id != 300 || marked.last != "-200" { marked.append(id == 300 ? "-200" : String(id)) }
        func run(_ bundle: String) throws -> [Float] {
            let out = directory.file("logits-\(UUID().uuidString).safetensors")
            let result = try CommandRunner.run("eah-run", [bundle, "--input-ids", marked.joined(separator: ","), "--pixel-values", Self.caseFile("m1_plain"),
                                                          "--max-tokens", "4", "--logits-out", out])
            #expect(result.status == 0, "\(result.stderr)")
            let reader = try SafetensorsReader(path: out)
            return try reader.bytes(of: try #require(reader.tensor(named: "logits"))).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        Self.expectClose(try run(baked), try run(runtime), tolerance: 1e-5)
    }

    @Test("a tampered bundle is refused; missing --head is bad usage")
    func tampering() throws {
        let directory = TemporaryDirectory()
        let bundle = try Self.patch(Self.m2, ["--head", "1:2"], into: directory)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: bundle + "/model.safetensors")))
        bytes[bytes.count - 3] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: bundle + "/model.safetensors"))
        let result = try CommandRunner.run("eah-run", [bundle, "--input-ids", try Self.ids("m2_static_prefill"), "--pixel-values", Self.caseFile("m2_static_prefill")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("weight file 'model.safetensors' does not match the manifest's SHA-256"))
        let usage = try CommandRunner.run("eah-convert", ["patch", Self.m2, "-o", directory.file("other")])
        #expect(usage.status == 2)
        let badHead = try CommandRunner.run("eah-convert", ["patch", Self.m2, "--head", "1:9", "-o", directory.file("other")])
        #expect(badHead.status == 2)
        #expect(badHead.stderr.contains("head 9 does not exist (layer 1 has 4)"))
        #expect(!FileManager.default.fileExists(atPath: directory.file("other")))
        #expect(directory.contents == ["bundle"])
    }
}
