import EAHCheckpoint
import EAHCore
import EAHTestSupport
import Foundation
import Testing

/// Damaged copies of every kind of fixture must be refused with a `CheckpointError` or read
/// cleanly: never a crash, a trap or an out-of-bounds read. A crash here takes the whole test
/// run down, so it cannot pass silently.
@Suite("mutated checkpoints")
struct MutationRobustnessTests {
    static let fixtures = [
        "convert/tiny-llama.safetensors",
        "convert/tiny-llama-q8_0.gguf",
        "convert/tiny-llama-q4_0.gguf",
        "convert/tiny-llava/pytorch_model-00002-of-00002.bin",
    ]

    @Test("truncations, byte flips and extreme integers", arguments: fixtures)
    func mutations(of fixture: String) throws {
        let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path(fixture))))
        var random = SplitMix64(seed: 0xEA4 &+ UInt64(fixture.utf8.count))
        let directory = TemporaryDirectory()
        var refused = 0, accepted = 0
        for round in 0..<150 {
            var bytes = original
            switch round % 3 {
            case 0:
                bytes.removeLast(Int.random(in: 1...bytes.count, using: &random))
            case 1:
                // Damage the header area, where the parsers live.
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let at = Int.random(in: 0..<min(bytes.count, 4096), using: &random)
                    bytes[at] ^= UInt8.random(in: 1...255, using: &random)
                }
            default:
                let at = Int.random(in: 0..<min(bytes.count - 8, 4096), using: &random)
                let value: UInt64 = [0, 1, 0x7fff_ffff, 0xffff_ffff, 1 << 40, UInt64(Int64.max), UInt64.max].randomElement(using: &random)!
                withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(at..<(at + 8), with: $0) }
            }
            let path = directory.write("mutant-\(round)", bytes)
            do {
                let reader = try Checkpoint.open(path)
                for tensor in reader.tensors {
                    let data = try reader.bytes(of: tensor)
                    #expect(data.count == tensor.byteCount)
                    if tensor.dtype.isFloatingPoint, tensor.elementCount > 0 {
                        var floats = [Float](repeating: 0, count: tensor.elementCount)
                        try? data.withUnsafeBytes { raw throws(ConversionError) in
                            try floats.withUnsafeMutableBufferPointer { out throws(ConversionError) in
                                try Dequantizer.toFloat32(raw, type: tensor.dtype, into: out)
                            }
                        }
                    }
                }
                accepted += 1
            } catch {
                refused += 1
            }
        }
        // Truncations alone (a third of the rounds) must all be refused.
        #expect(refused >= 50)
        #expect(accepted + refused == 150)
    }
}
