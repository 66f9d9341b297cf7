import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// What `tools/make_safetensors_fixtures.py` recorded in `safetensors/expected.json` for one file.
struct ExpectedSafetensors {
    struct Tensor {
        let name: String
        let dtype: String
        let shape: [Int]
        let begin: Int
        let end: Int
        let bytes: [UInt8]
    }

    let fileLength: Int
    let headerLength: Int
    /// `__metadata__` pairs in header order.
    let metadata: [(String, String)]
    /// In data (offset) order.
    let tensors: [Tensor]

    /// The whole expected.json.
    static func document() throws -> JSONValue {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("safetensors/expected.json")))
        return try JSONParser.parse([UInt8](data))
    }

    /// The record of `relative` (e.g. `all_dtypes.safetensors`, `sharded/model-00001-of-00002.safetensors`).
    static func load(_ relative: String) throws -> ExpectedSafetensors {
        let record = try #require(try document()[relative])
        guard case .integer(let fileLength) = record["file_length"], case .integer(let headerLength) = record["header_length"],
              case .array(let metadataItems) = record["metadata"], case .array(let tensorItems) = record["tensors"]
        else { throw Malformed() }
        var metadata: [(String, String)] = []
        for item in metadataItems {
            guard case .array(let pair) = item, pair.count == 2, case .string(let key) = pair[0], case .string(let value) = pair[1]
            else { throw Malformed() }
            metadata.append((key, value))
        }
        var tensors: [Tensor] = []
        for item in tensorItems {
            guard case .string(let name) = item["name"], case .string(let dtype) = item["dtype"],
                  case .array(let shapeItems) = item["shape"], case .array(let offsets) = item["data_offsets"], offsets.count == 2,
                  case .integer(let begin) = offsets[0], case .integer(let end) = offsets[1], case .string(let hex) = item["hex"]
            else { throw Malformed() }
            let shape = try shapeItems.map { value -> Int in
                guard case .integer(let dimension) = value else { throw Malformed() }
                return dimension
            }
            tensors.append(Tensor(name: name, dtype: dtype, shape: shape, begin: begin, end: end, bytes: try bytes(hex: hex)))
        }
        return ExpectedSafetensors(fileLength: fileLength, headerLength: headerLength, metadata: metadata, tensors: tensors)
    }

    static func bytes(hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { throw Malformed() }
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { throw Malformed() }
            return byte
        }
    }

    struct Malformed: Error {}
}
