import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// Issue 14, item 6: names, keys and entries from files reach the terminal escaped and capped:
/// the one line a CLI prints (`CheckpointError.description`) holds no control character and
/// stays short whatever the file holds.
@Suite struct HostileMessageTests {
    /// ESC sequences, BEL, NUL, CR/LF, a bidirectional override, then 120 KB of the same.
    static let hostile = "\u{1b}]0;owned\u{7}\u{1b}[2J\0\r\nline two\u{202e}" + String(repeating: "x\n\u{1b}[31m", count: 12_000)

    static func expectSafe(_ error: CheckpointError, quoting fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let line = error.description
        #expect(!line.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) || $0.value == 0x202e },
                "\(line.prefix(200))", sourceLocation: sourceLocation)
        #expect(line.count < 1500, "\(line.count) characters", sourceLocation: sourceLocation)
        #expect(line.contains(fragment), "\(line.prefix(300))", sourceLocation: sourceLocation)
        #expect(line.contains("more characters)"), sourceLocation: sourceLocation)
    }

    static func openError(_ name: String, _ bytes: [UInt8]) throws -> CheckpointError {
        let folder = TemporaryDirectory()
        do {
            _ = try Checkpoint.open(folder.write(name, bytes))
        } catch let error as CheckpointError {
            return error
        }
        throw CheckpointError(path: name, problem: FileProblem.notFound)
    }

    static let escapedStart = "\\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{0}\\u{d}\\u{a}line two\\u{202e}x\\u{a}"

    @Test func safetensorsNames() throws {
        let name = String(decoding: JSONValue.string(Self.hostile).serialized.utf8, as: UTF8.self)
        let bytes = SafetensorsBytes.file(header: "{\(name): {\"dtype\": \"ZZ\", \"shape\": [1], \"data_offsets\": [0, 4]}}", data: [0, 0, 0, 0])
        Self.expectSafe(try Self.openError("model.safetensors", bytes), quoting: Self.escapedStart)
    }

    @Test func ggufKeys() throws {
        let renamed = GGUFMalformedTests.renaming("test.u8", to: Self.hostile)
        let bytes = GGUFMalformedTests.setting(UInt32(13), at: GGUFMalformedTests.after(Self.hostile, in: renamed), in: renamed)
        Self.expectSafe(try Self.openError("model.gguf", bytes), quoting: Self.escapedStart)
    }

    @Test func zipEntryNames() throws {
        var zip = ZipTestBuilder()
        zip.add("archive/" + String(Self.hostile.prefix(5000)), [1, 2, 3], method: 99)  // zip names stop at 64 KiB
        Self.expectSafe(try Self.openError("model.pt", zip.build()), quoting: "archive/" + Self.escapedStart)
    }

    @Test func linesKeepBackslashesAndCapLength() {
        #expect(TerminalText.line("a\\u{1b}\u{1b}") == "a\\u{1b}\\u{1b}")
        #expect(TerminalText.line(String(repeating: "é", count: 12), limit: 10) == String(repeating: "é", count: 10) + "… (2 more characters)")
        #expect(TerminalText.escape("a\\b\u{0}") == "a\\\\b\\u{0}")
    }
}
