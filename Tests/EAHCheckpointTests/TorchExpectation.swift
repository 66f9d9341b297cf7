import EAHTestSupport
import Foundation

/// One tensor of a `*.expected.json` file written by `tools/make_torch_fixtures.py`.
struct TorchExpectation {
    let name: String
    let dtype: String
    let shape: [Int]
    let bytes: [UInt8]

    /// The expectations for fixture `relative` (under `Tests/Fixtures/torch/`), in order.
    static func load(_ relative: String) throws -> [TorchExpectation] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("torch/" + relative + ".expected.json")))
        let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
        return list.map { item in
            let hex = Array((item["hex"] as? String ?? "").utf8)
            var bytes: [UInt8] = []
            var index = 0
            while index + 1 < hex.count {
                bytes.append(UInt8(String(decoding: hex[index...index + 1], as: UTF8.self), radix: 16) ?? 0)
                index += 2
            }
            return TorchExpectation(
                name: item["name"] as? String ?? "", dtype: item["dtype"] as? String ?? "",
                shape: item["shape"] as? [Int] ?? [], bytes: bytes)
        }
    }
}
