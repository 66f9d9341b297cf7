import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation

/// Readers for the committed fixtures of tools/make_image_fixtures.py.
enum ImageFixtures {
    static func path(_ relative: String) -> String { Fixtures.path("images/" + relative) }

    /// The tensors of a fixture safetensors file by name, as raw bytes with their shapes.
    static func tensors(_ file: String) throws -> [(name: String, shape: [Int], bytes: [UInt8])] {
        let reader = try SafetensorsReader(path: path(file))
        return try reader.tensors.map { info in (info.name, info.shape, try reader.bytes(of: info).array) }
    }

    static func floats(_ bytes: [UInt8]) -> [Float] {
        var values = [Float](repeating: 0, count: bytes.count / 4)
        values.withUnsafeMutableBytes { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
        return values
    }

    static func config(_ name: String) throws -> PreprocessorConfig {
        try PreprocessorConfig(path: path("configs/\(name)/preprocessor_config.json"))
    }

    /// Maximum and mean absolute difference.
    static func difference(_ a: [Float], _ b: [Float]) -> (max: Float, mean: Double) {
        precondition(a.count == b.count)
        var largest: Float = 0, total = 0.0
        for (x, y) in zip(a, b) {
            let d = abs(x - y)
            largest = max(largest, d)
            total += Double(d)
        }
        return (largest, a.isEmpty ? 0 : total / Double(a.count))
    }
}
