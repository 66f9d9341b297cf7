import EAHCore

/// Unbuffered writes to standard output or standard error, safe from any thread (no shared
/// `FILE*` state), so streamed tokens and progress lines appear at once.
public enum StandardStream {
    case output
    case error

    /// Writes `text` as is (no newline added).
    public func write(_ text: String) {
        let descriptor = self == .output ? STDOUT_FILENO : STDERR_FILENO
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
            if written < 0 { if errno == EINTR { continue } else { return } }
            bytes = bytes.dropFirst(written)
        }
    }
}
