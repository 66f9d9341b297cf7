/// Makes untrusted text (tensor names, metadata strings) safe to print on a terminal.
public enum TerminalText {
    /// `text` with every control character (C0, DEL, C1) and bidirectional override escaped as
    /// `\u{XX}`, and backslashes doubled, so no escape sequence reaches the terminal and
    /// escaped output stays unambiguous.
    public static func escape(_ text: String) -> String {
        escape(text, backslashes: true, limit: .max)
    }

    /// One line of a message about a file, safe for a terminal whatever bytes of the file it
    /// quotes: control characters and bidirectional overrides escaped as in `escape(_:)`
    /// (backslashes kept, so text escaped before is not escaped twice), invalid UTF-8 already
    /// replaced by U+FFFD when the bytes became a `String`, and cut after `limit` characters of
    /// output (then "… (N more characters)", counting the input's characters left out). `CheckpointError.description` passes every message
    /// through this, so no problem type has to remember it.
    public static func line(_ text: String, limit: Int = 1000) -> String {
        escape(text, backslashes: false, limit: limit)
    }

    private static func escape(_ text: String, backslashes: Bool, limit: Int) -> String {
        var output = ""
        output.reserveCapacity(min(text.utf8.count, limit &+ 64))
        var dropped = 0, length = 0
        for scalar in text.unicodeScalars {
            guard length < limit else { dropped += 1; continue }
            let value = scalar.value
            if value < 0x20 || (0x7f...0x9f).contains(value) || (0x202a...0x202e).contains(value)
                || (0x2066...0x2069).contains(value) || value == 0x200e || value == 0x200f {
                let escaped = "\\u{\(String(value, radix: 16))}"
                output += escaped
                length += escaped.utf8.count
            } else if backslashes, scalar == "\\" {
                output += "\\\\"
                length += 2
            } else {
                output.unicodeScalars.append(scalar)
                length += 1
            }
        }
        if dropped > 0 { output += "… (\(dropped) more characters)" }
        return output
    }
}
