import EAH
import EAHCheckpoint
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

extension HostileInputTests {
    /// Under `set -o pipefail` a reader that exits early (`head`, `grep -q`) makes the writer die
    /// of SIGPIPE and the pipeline fail at random (`make demo`'s Error 141, about 1 run in 5).
    @Test("10. the scripts make runs hold no pipeline that can fail by SIGPIPE under pipefail")
    func noEarlyExitPipelines() throws {
        let tools = URL(fileURLWithPath: Fixtures.root).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tools")
        var checked = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: tools.path) where name.hasSuffix(".sh") {
            let text = try String(contentsOf: tools.appendingPathComponent(name), encoding: .utf8)
            guard text.contains("pipefail") else { continue }
            checked += 1
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).hasPrefix("#") {
                let squeezed = line.replacingOccurrences(of: " ", with: "")
                #expect(!squeezed.contains("|head") && !squeezed.contains("|grep-q") && !squeezed.contains("|grep-m"),
                        "tools/\(name):\(number + 1): \(line)")
            }
        }
        #expect(checked >= 3)
    }
}
