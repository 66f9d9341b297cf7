import EAHCheckpoint
import EAHCore

/// Paths into `Tests/Fixtures/llava` (written by `tools/make_llava_fixtures.py`) and a reader for
/// their F32 reference tensors.
public enum LlavaFixtures {
    /// `Tests/Fixtures/llava/<relative>`.
    public static func path(_ relative: String) -> String {
        Fixtures.path("llava/" + relative)
    }

    /// The F32 values of `name` in the safetensors file at `relative` (nil when absent or not decodable).
    public static func floats(_ relative: String, _ name: String) -> [Float]? {
        guard let reader = try? Checkpoint.open(path(relative)), let info = reader.tensor(named: name),
              let bytes = try? reader.bytes(of: info) else { return nil }
        var values = [Float](repeating: 0, count: info.elementCount)
        let ok: Bool = bytes.withUnsafeBytes { source in
            values.withUnsafeMutableBufferPointer { destination in
                (try? Dequantizer.toFloat32(source, type: info.dtype, into: destination)) != nil
            }
        }
        return ok ? values : nil
    }
}

extension LlavaFixtures {
    /// The integer values of an I64 tensor `name` in the safetensors file at `relative`.
    public static func integers(_ relative: String, _ name: String) -> [Int]? {
        guard let reader = try? Checkpoint.open(path(relative)), let info = reader.tensor(named: name), info.dtype == .i64,
              let bytes = try? reader.bytes(of: info) else { return nil }
        return bytes.withUnsafeBytes { raw in
            (0..<info.elementCount).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
        }
    }

    /// `image_token_index` from a model's `facts.json`.
    public static func imageTokenIndex(_ model: String) -> Int? {
        guard let file = try? MappedFile(path: path(model + "/facts.json")),
              let facts = try? JSONParser.parse(file.bytes), case .integer(let index)? = facts["image_token_index"] else { return nil }
        return index
    }
}
