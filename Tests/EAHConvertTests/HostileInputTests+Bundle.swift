import EAH
import EAHCheckpoint
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

extension HostileInputTests {
    @Test("8. a manifest without weight files, an unlisted weight file and a missing manifest.pb are refused")
    func checksumsCannotBeSkipped() throws {
        let directory = TemporaryDirectory()
        let empty = try Self.tamperedBundle(in: directory) { $0.weightFiles = [] }
        let run = try Self.run(empty)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("manifest.pb: the manifest lists no weight files, so the weights cannot be verified"), "\(run.stderr)")
        let inspect = try CommandRunner.run("eah-convert", ["inspect", empty])
        #expect(inspect.status == 1, "\(inspect.stderr)")
        #expect(inspect.stderr.contains("the manifest lists no weight files"))

        // One weight file dropped from the list, then changed: not verified, so refused.
        let other = TemporaryDirectory()
        let bundle = try Self.tamperedBundle(in: other) { manifest in
            manifest.weightFiles.removeAll { $0.path == "model.safetensors" }
            if manifest.weightFiles.isEmpty { manifest.weightFiles = [EAHManifest.FileChecksum(path: "config.json", sha256: String(repeating: "0", count: 64), size: 0)] }
        }
        let unlisted = try Self.run(bundle)
        #expect(unlisted.status == 1, "\(unlisted.stderr)")
        #expect(unlisted.stderr.contains("weight file 'model.safetensors' is in the bundle but not in the manifest"), "\(unlisted.stderr)")

        let third = TemporaryDirectory()
        let deleted = try BundleCommandTests.patch(Self.m2, ["--head", "1:2"], into: third)
        try FileManager.default.removeItem(atPath: deleted + "/manifest.pb")
        for result in [try Self.run(deleted), try CommandRunner.run("eah-convert", ["inspect", deleted])] {
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.contains("\(deleted): is an eah bundle whose manifest.pb is missing"), "\(result.stderr)")
        }
    }

    @Test("8. inspect verifies a bundle's weights, or says it did not")
    func inspectVerifies() throws {
        let directory = TemporaryDirectory()
        let bundle = try BundleCommandTests.patch(Self.m2, ["--head", "1:2"], into: directory)
        let verified = try CommandRunner.run("eah-convert", ["inspect", bundle])
        #expect(verified.status == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("verified: 1 weight files match the manifest's SHA-256"), "\(verified.stdout)")
        let skipped = try CommandRunner.run("eah-convert", ["inspect", bundle, "--no-verify", "--json"])
        #expect(try JSONParser.parse(Array(skipped.stdout.utf8))["verified"] == .bool(false))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: bundle + "/model.safetensors"))
        try handle.seek(toOffset: 200)
        handle.write(Data([0x55]))
        try handle.close()
        let tampered = try CommandRunner.run("eah-convert", ["inspect", bundle])
        #expect(tampered.status == 1)
        #expect(tampered.stderr.contains("does not match the manifest's SHA-256"), "\(tampered.stderr)")
    }
}
