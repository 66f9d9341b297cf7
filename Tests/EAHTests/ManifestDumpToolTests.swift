import EAH
import EAHTestSupport
import Foundation
import Testing

/// tools/eah-manifest-dump.c, a C reader built from the generated protobuf-c code, prints what
/// Swift wrote: the manifest can be consumed outside Swift.
private let cCompiler = "/usr/bin/cc"

@Suite("manifest C dump tool", .enabled(if: FileManager.default.isExecutableFile(atPath: cCompiler),
                                         "no C compiler at /usr/bin/cc: tools/eah-manifest-dump.c not built"))
struct ManifestDumpToolTests {
    /// The checkout's root (Tests/Fixtures/../..).
    static let root = URL(fileURLWithPath: Fixtures.root).deletingLastPathComponent().deletingLastPathComponent().path

    static func run(_ executable: String, _ arguments: [String]) throws -> CommandRunner.Result {
        try CommandRunner.run(executable: executable, arguments)
    }

    /// `pkg-config --cflags --libs libprotobuf-c`, or plain `-lprotobuf-c` without pkg-config.
    static func protobufFlags() throws -> [String] {
        for tool in ["/usr/bin/pkg-config", "/usr/local/bin/pkg-config"] where FileManager.default.isExecutableFile(atPath: tool) {
            let result = try run(tool, ["--cflags", "--libs", "libprotobuf-c"])
            if result.status == 0 { return result.stdout.split(whereSeparator: \.isWhitespace).map(String.init) }
        }
        return ["-lprotobuf-c"]
    }

    /// Builds the tool into `folder` and returns its path.
    static func build(into folder: TemporaryDirectory) throws -> String {
        let output = folder.file("eah-manifest-dump")
        let arguments = ["-std=c11", "-Wall", "-Werror", "-o", output,
                         root + "/tools/eah-manifest-dump.c",
                         root + "/Sources/CEAHManifest/eah_manifest.pb-c.c",
                         "-I", root + "/Sources/CEAHManifest/include"] + (try protobufFlags())
        let result = try run(cCompiler, arguments)
        #expect(result.status == 0, "cc failed: \(result.stderr)")
        return output
    }

    @Test("prints every field of a manifest written by Swift", arguments: [false, true])
    func dump(baked: Bool) throws {
        let folder = TemporaryDirectory()
        let tool = try Self.build(into: folder)
        let bundle = folder.file("bundle")
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: false)
        let manifest = ManifestSamples.full(baked: baked)
        try manifest.write(to: bundle, overwrite: false)

        let result = try Self.run(tool, [bundle])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let text = result.stdout
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("schema_version: 1"))
        #expect(lines.contains("tool_version: \"eah-convert 0.1.0 (test)\""))
        #expect(lines.contains("  architecture: \"LlavaForConditionalGeneration\""))
        #expect(lines.contains("  weight_layout: \"hf\""))
        #expect(lines.contains("  family: \"llava-1.5\""))
        #expect(lines.contains("baked: \(baked)"))
        #expect(lines.contains("patches: \(manifest.patches.count)"))
        // Patches in order, with their selection, head, β, phase and targets.
        let patchBlock = lines.drop { $0 != "patches: \(manifest.patches.count)" }.dropFirst().prefix { $0.hasPrefix("  ") }
        var expected: [String] = []
        for patch in manifest.patches {
            expected.append("  - layer: \(patch.layer)")
            switch patch.selection {
            case .dynamic: expected.append("    selection: DYNAMIC")
            case .fixed(let head): expected += ["    selection: STATIC", "    head: \(head)"]
            }
            expected.append("    beta: \(patch.beta)")
            expected.append("    phase: \(patch.phase == .all ? "ALL" : "PREFILL")")
            expected.append("    target_heads: " + (patch.targetHeads.map { "[" + $0.map(String.init).joined(separator: ", ") + "]" } ?? "all"))
        }
        #expect(Array(patchBlock) == expected)
        // Calibration provenance.
        #expect(lines.contains("  data_digest: \(ManifestSamples.digestB)"))
        #expect(lines.contains("  sample_count: 128"))
        #expect(lines.contains("      mean_sink_count: [0, 2.5, 11.25, 0.125]"))
        #expect(lines.contains("      sink_density: [0, 0.0043, 0.0196, 0.0002]"))
        #expect(lines.contains("      win_frequency: [0, 0.25, 0.75, 0]"))
        #expect(lines.contains("      chosen_head: 2"))
        #expect(lines.contains("      chosen_head: none"))
        #expect(lines.contains("      agreement: 0.75"))
        // Checksums: source files under model, weight files at the end.
        let tail = Array(lines.drop { $0 != "weight_files: 2" })
        #expect(tail == [
            "weight_files: 2",
            "  - path: \"model.safetensors\"", "    sha256: \(ManifestSamples.digestA)", "    size: 123456789",
            "  - path: \"mmproj/projector.safetensors\"", "    sha256: \(ManifestSamples.digestB)", "    size: 42",
        ])
        let sources = Array(lines.drop { $0 != "  source_files: 2" }.prefix(7))
        #expect(sources == [
            "  source_files: 2",
            "    - path: \"model-00001-of-00002.safetensors\"", "      sha256: \(ManifestSamples.digestA)", "      size: 4987654321",
            "    - path: \"sub/model-00002-of-00002.safetensors\"", "      sha256: \(ManifestSamples.digestB)", "      size: 0",
        ])

        // The manifest file itself works as the argument too.
        let direct = try Self.run(tool, [bundle + "/manifest.pb"])
        #expect(direct.status == 0)
        #expect(direct.stdout.split(separator: "\n").dropFirst() == text.split(separator: "\n").dropFirst())
    }

    @Test("a missing, corrupt or newer manifest exits 1 with a message")
    func failures() throws {
        let folder = TemporaryDirectory()
        let tool = try Self.build(into: folder)

        let missing = try Self.run(tool, [folder.path])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("manifest.pb: cannot be read"))

        var bytes = ManifestSamples.full().serialized()
        bytes.removeLast()
        let truncated = folder.write("truncated.pb", bytes)
        let corrupt = try Self.run(tool, [truncated])
        #expect(corrupt.status == 1)
        #expect(corrupt.stderr.contains("not a valid eah.Manifest"))
        #expect(corrupt.stdout.isEmpty)

        let empty = try Self.run(tool, [folder.write("empty.pb", [])])
        #expect(empty.status == 1)

        var newer = ManifestSamples.full()
        newer.schemaVersion = 2
        let refused = try Self.run(tool, [folder.write("newer.pb", newer.serialized())])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("schema_version 2 is newer than this reader (1)"))

        let usage = try Self.run(tool, [])
        #expect(usage.status == 2)
    }
}
