import EAHFuzzTargets
import EAHTestSupport
import Foundation
import Testing

/// Every committed fuzz input (the seed corpora and the crashes the fuzzers found, under
/// `Tests/Fuzz`) runs through its target without crashing: a fixed crash stays fixed.
@Suite struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: Fixtures.root).deletingLastPathComponent().appendingPathComponent("Fuzz").path

    static func files(_ kind: String, _ target: String) -> [String] {
        let folder = root + "/\(kind)/\(target)"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted().map { folder + "/" + $0 }
    }

    @Test("every target has seeds and a dictionary", arguments: FuzzTargets.all.map(\.name))
    func seedsAndDictionary(_ name: String) {
        #expect(!Self.files("corpus", name).isEmpty, "no seeds for \(name)")
        #expect(FileManager.default.fileExists(atPath: Self.root + "/dictionaries/\(name).dict"), "no dictionary for \(name)")
    }

    @Test("seeds and regression inputs run without crashing", arguments: FuzzTargets.all.map(\.name))
    func replay(_ name: String) throws {
        let target = try #require(FuzzTargets.named(name))
        for path in Self.files("corpus", name) + Self.files("regressions", name) {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            bytes.withUnsafeBytes { target.run($0) }
        }
    }
}
