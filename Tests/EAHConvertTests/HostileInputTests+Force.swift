import EAH
import EAHCheckpoint
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

extension HostileInputTests {
    @Test("9. --force replaces only what eah-convert wrote")
    func forceReplacesOnlyOurOutputs() throws {
        let directory = TemporaryDirectory()
        let folder = directory.file("folder")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        directory.write("folder/notes.txt", Array("mine\n".utf8))
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.m2, "--head", "1:2", "-o", folder, "--force"])
        #expect(patch.status == 2, "\(patch.stderr)")
        #expect(patch.stderr.contains("\(folder): exists and was not written by eah-convert"), "\(patch.stderr)")
        #expect(FileManager.default.fileExists(atPath: folder + "/notes.txt"))
        #expect(directory.contents == ["folder"])

        let convert = try CommandRunner.run("eah-convert", ["convert", Self.m2, "-o", folder, "--force"])
        #expect(convert.status == 2, "\(convert.stderr)")
        // A model folder converted to a name without extension is a folder output: refused the same way.
        #expect(convert.stderr.contains("\(folder): exists and was not written by eah-convert"), "\(convert.stderr)")
        #expect(FileManager.default.fileExists(atPath: folder + "/notes.txt"))

        // A bundle (and an empty folder) is replaced.
        let bundle = try BundleCommandTests.patch(Self.m2, ["--head", "1:2"], into: directory, name: "bundle")
        let again = try CommandRunner.run("eah-convert", ["patch", Self.m2, "--head", "1:1", "-o", bundle, "--force"])
        #expect(again.status == 0, "\(again.stderr)")
        try FileManager.default.createDirectory(atPath: directory.file("empty"), withIntermediateDirectories: true)
        #expect(try CommandRunner.run("eah-convert", ["patch", Self.m2, "--head", "1:1", "-o", directory.file("empty"), "--force"]).status == 0)
        #expect(!directory.contents.contains { $0.contains(".partial-") })
    }
}
