import EAH
import EAHCheckpoint
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// The hostile-input campaign's findings (issue 14), each reproduced through the real
/// executables: exit status and the one-line error.
@Suite("hostile inputs (issue 14)")
struct HostileInputTests {
    static let m2 = LlavaFixtures.path("m2-mha-gelu-full-tied/hf-legacy-safetensors")

    /// A static bundle of m2 (4 heads, 2 layers) with its manifest rewritten by `edit`.
    static func tamperedBundle(in directory: TemporaryDirectory, _ edit: (inout EAHManifest) -> Void) throws -> String {
        let bundle = try BundleCommandTests.patch(m2, ["--head", "1:2"], into: directory)
        let path = bundle + "/manifest.pb"
        var manifest = try EAHManifest.read(path: path)
        edit(&manifest)
        try manifest.write(to: path, overwrite: true)
        return bundle
    }

    static func run(_ bundle: String, _ extra: [String] = []) throws -> CommandRunner.Result {
        try CommandRunner.run("eah-run", [bundle, "--input-ids", try BundleCommandTests.ids("m2_static_prefill"),
                                          "--pixel-values", BundleCommandTests.caseFile("m2_static_prefill"), "--max-tokens", "1"] + extra)
    }

    @Test("1. a manifest's static head, target heads and layer are checked against the model",
          arguments: [(9999, nil, 1, "head 9999 does not exist (layer 1 has 4 heads)"),
                      (4, nil, 1, "head 4 does not exist (layer 1 has 4 heads)"),
                      (2, [9999], 1, "target head 9999 does not exist (layer 1 has 4 heads)"),
                      (2, nil, 7, "layer 7 does not exist (the decoder has 2)")] as [(Int, [Int]?, Int, String)])
    func manifestHeadsInRange(head: Int, targets: [Int]?, layer: Int, expected: String) throws {
        let directory = TemporaryDirectory()
        let bundle = try Self.tamperedBundle(in: directory) { manifest in
            manifest.patches[0].selection = .fixed(head: head)
            manifest.patches[0].targetHeads = targets
            manifest.patches[0].layer = layer
        }
        let result = try Self.run(bundle)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("manifest.pb: the manifest does not match the model: patches[0]: \(expected)"), "\(result.stderr)")
        #expect(!result.stderr.contains("--bake"))
    }
}
