import EAH
import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// FileDigest: SHA-256 of buffers and files as the manifest records them.
@Suite("manifest file digests")
struct ManifestFileDigestTests {
    @Test("known SHA-256 vectors")
    func vectors() {
        #expect(FileDigest.sha256([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(FileDigest.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(FileDigest.sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(FileDigest.sha256([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("a file's digest equals sha256sum's, across several read chunks")
    func fileMatchesSha256sum() throws {
        let folder = TemporaryDirectory()
        var random = SplitMix64(seed: 42)
        // Two full chunks and a partial one.
        let count = 2 * FileDigest.chunkSize + 12_345
        let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let path = folder.write("weights.bin", bytes)
        let checksum = try FileDigest.checksum(path: path, as: "weights.bin")
        #expect(checksum.path == "weights.bin")
        #expect(checksum.size == count)
        #expect(checksum.sha256 == FileDigest.sha256(bytes))

        let tool = "/usr/bin/sha256sum"
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            Issue.record("no \(tool) to compare with")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = [path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text.split(separator: " ").first.map(String.init) == checksum.sha256)
        #expect(try FileDigest.sha256(path: path) == checksum.sha256)
    }

    @Test("an empty file, a missing file, a folder")
    func edgeCases() throws {
        let folder = TemporaryDirectory()
        let empty = folder.write("empty", [])
        #expect(try FileDigest.sha256(path: empty) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let missing = #expect(throws: CheckpointError.self) { try FileDigest.sha256(path: folder.file("absent")) }
        #expect(missing?.problem as? FileProblem == .notFound)
        let directory = #expect(throws: CheckpointError.self) { try FileDigest.sha256(path: folder.path) }
        #expect(directory?.problem as? FileProblem == .notReadable(errno: EISDIR))
    }

    /// Throughput on a 1 GiB file (page-cache warm); run with EAH_DIGEST_BENCH=1.
    @Test("throughput on 1 GiB", .enabled(if: ProcessInfo.processInfo.environment["EAH_DIGEST_BENCH"] != nil))
    func throughput() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("big.bin")
        let chunk = [UInt8](repeating: 0x5a, count: 1 << 20)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for _ in 0..<1024 { handle.write(Data(chunk)) }
        try handle.close()
        _ = try FileDigest.sha256(path: path)
        let clock = ContinuousClock()
        var digest = ""
        let elapsed = try clock.measure { digest = try FileDigest.sha256(path: path) }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("FileDigest: 1 GiB in \(seconds) s = \(Double(1 << 30) / seconds / 1e9) GB/s (\(digest))")
    }
}
