import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// Builds safetensors files byte by byte for malformed-input tests, and opens them.
enum SafetensorsBytes {
    /// `headerLength` (default: the header's UTF-8 length) as u64 LE, the header, then `data`.
    static func file(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        file(headerBytes: Array(header.utf8), data: data, headerLength: headerLength)
    }

    static func file(headerBytes: [UInt8], data: [UInt8] = [], headerLength: UInt64? = nil) -> [UInt8] {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (headerLength ?? UInt64(headerBytes.count)).littleEndian) { bytes.append(contentsOf: $0) }
        return bytes + headerBytes + data
    }

    /// Opens `bytes` as a safetensors file and returns the problem, or nil when it opens.
    static func problem(_ bytes: [UInt8]) -> (any CheckpointProblem)? {
        let folder = TemporaryDirectory()
        let path = folder.write("test.safetensors", bytes)
        do throws(CheckpointError) {
            _ = try SafetensorsReader(path: path)
            return nil
        } catch {
            #expect(error.path == path)
            return error.problem
        }
    }

    /// The problem of `bytes` as a `SafetensorsProblem` (nil when it opens or fails otherwise).
    static func safetensorsProblem(_ bytes: [UInt8]) -> SafetensorsProblem? {
        problem(bytes) as? SafetensorsProblem
    }

    /// The valid fixture's bytes.
    static func fixture(_ relative: String = "all_dtypes.safetensors") throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("safetensors/" + relative))))
    }
}
