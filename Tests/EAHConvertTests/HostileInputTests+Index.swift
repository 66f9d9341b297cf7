import EAH
import EAHCheckpoint
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

extension HostileInputTests {
    @Test("2. an index that names itself, or two indexes naming each other, is refused by inspect and convert",
          arguments: ["model.safetensors.index.json", "pytorch_model.bin.index.json"])
    func indexNamingAnIndex(_ name: String) throws {
        let directory = TemporaryDirectory()
        let other = "other." + name
        directory.write(name, Array("{\"weight_map\": {\"a\": \"\(name)\"}}".utf8))
        directory.write("mutual." + name, Array("{\"weight_map\": {\"a\": \"\(other)\"}}".utf8))
        directory.write(other, Array("{\"weight_map\": {\"b\": \"mutual.\(name)\"}}".utf8))
        for (index, named) in [(name, name), ("mutual." + name, other)] {
            for arguments in [["inspect", directory.file(index)], ["convert", directory.file(index), "-o", directory.file("out.safetensors")]] {
                let result = try CommandRunner.run("eah-convert", arguments)
                #expect(result.status == 1, "\(arguments): \(result.stderr)")
                #expect(result.stderr.contains("\(directory.file(index)): index names \"\(named)\" as a shard, but it is an index file, not a checkpoint"),
                        "\(result.stderr)")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: directory.file("out.safetensors")))
    }
}
