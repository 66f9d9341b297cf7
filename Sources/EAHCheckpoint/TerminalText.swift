/// Makes untrusted text (tensor names, metadata strings) safe to print on a terminal.
public enum TerminalText {
    /// `text` with every control character (C0, DEL, C1) and bidirectional override escaped as
    /// `\u{XX}`, and backslashes doubled, so no escape sequence reaches the terminal and
    /// escaped output stays unambiguous.
    public static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let value = scalar.value
            if value < 0x20 || (0x7f...0x9f).contains(value) || (0x202a...0x202e).contains(value)
                || (0x2066...0x2069).contains(value) || value == 0x200e || value == 0x200f {
                output += "\\u{\(String(value, radix: 16))}"
            } else if scalar == "\\" {
                output += "\\\\"
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }
}
