/// Cuts streamed text at the first of the request's stop sequences: text that could be the
/// start of one is held back until it is known not to be, so no part of a stop sequence is
/// ever sent.
public struct StopSequenceFilter {
    public let sequences: [String]
    private var held = ""
    /// Whether a stop sequence was met (the text before it has been returned).
    public private(set) var stopped = false

    public init(_ sequences: [String]) {
        self.sequences = sequences
    }

    /// The part of `text` (after what is held) that can be sent now.
    public mutating func feed(_ text: String) -> String {
        guard !stopped else { return "" }
        held += text
        if let cut = sequences.compactMap({ held.range(of: $0)?.lowerBound }).min() {
            stopped = true
            defer { held = "" }
            return String(held[..<cut])
        }
        // The longest end of `held` that begins some stop sequence stays held.
        var keep = 0
        for sequence in sequences {
            for length in stride(from: min(sequence.count, held.count), to: keep, by: -1) where held.hasSuffix(sequence.prefix(length)) {
                keep = length
                break
            }
        }
        let ready = String(held.dropLast(keep))
        held = String(held.suffix(keep))
        return ready
    }

    /// What is still held once generation has ended without meeting a stop sequence.
    public mutating func finish() -> String {
        defer { held = "" }
        return stopped ? "" : held
    }
}

extension String {
    /// The first range where `other` occurs (character-wise).
    fileprivate func range(of other: String) -> Range<String.Index>? {
        guard !other.isEmpty, other.count <= count else { return nil }
        var start = startIndex
        while start < endIndex {
            if self[start...].hasPrefix(other) { return start..<index(start, offsetBy: other.count) }
            start = index(after: start)
        }
        return nil
    }
}
