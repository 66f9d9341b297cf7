/// Emits protocol-2 `data.pkl` opcode streams like torch's, with full control over every field,
/// for malformed-input tests.
enum TorchPickleBuilder {
    struct Tensor {
        var name: String
        var storageType = "FloatStorage"
        var key = "0"
        var numel: Int
        var offset = 0
        var size: [Int]
        var stride: [Int]
    }

    /// An OrderedDict of `_rebuild_tensor_v2` tensors.
    static func stateDict(_ tensors: [Tensor]) -> [UInt8] {
        var out: [UInt8] = [0x80, 0x02] + global("collections", "OrderedDict") + [0x29, 0x52, 0x28]
        for tensor in tensors {
            out += string(tensor.name) + global("torch._utils", "_rebuild_tensor_v2") + [0x28, 0x28]
            out += string("storage") + global("torch", tensor.storageType) + string(tensor.key) + string("cpu")
            out += int(tensor.numel) + [0x74, 0x51] + int(tensor.offset) + tuple(tensor.size) + tuple(tensor.stride)
            out += [0x89] + global("collections", "OrderedDict") + [0x29, 0x52, 0x74, 0x52]
        }
        return out + [0x75, 0x2E]
    }

    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }

    static func string(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return [0x58] + (0..<4).map { UInt8((bytes.count >> (8 * $0)) & 0xFF) } + bytes
    }

    /// LONG1 with 8 bytes: any Int.
    static func int(_ value: Int) -> [UInt8] {
        [0x8A, 8] + (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: Int64(value)) >> (8 * UInt64($0))) }
    }

    static func tuple(_ values: [Int]) -> [UInt8] { [0x28] + values.flatMap(int) + [0x74] }

    /// A torch-style zip archive named `archive/` with `data.pkl`, `byteorder`, storages and `version`.
    static func archive(pickle: [UInt8], storages: [String: [UInt8]], version: String = "3\n", byteorder: String? = "little") -> [UInt8] {
        var zip = ZipTestBuilder()
        zip.add("archive/data.pkl", pickle)
        if let byteorder { zip.add("archive/byteorder", byteorder) }
        for key in storages.keys.sorted() { zip.add("archive/data/" + key, storages[key] ?? []) }
        zip.add("archive/version", version)
        return zip.build()
    }
}
