/// `Metaspace` (what transformers 5 writes for LLaMA): spaces become the replacement (▁), a ▁ is
/// prepended per `prependScheme` unless the word already starts with one, and with `split` the
/// word is cut before every ▁.
public struct MetaspacePreTokenizer: PreTokenizer, Equatable {
    public enum PrependScheme: String, Sendable {
        /// Prepend to every piece of text (between added tokens too).
        case always
        /// Prepend only to the text at the start of the input.
        case first
        case never
    }

    public let replacement: Unicode.Scalar
    public let prependScheme: PrependScheme
    public let split: Bool

    public init(replacement: Unicode.Scalar = "\u{2581}", prependScheme: PrependScheme = .always, split: Bool = true) {
        self.replacement = replacement
        self.prependScheme = prependScheme
        self.split = split
    }

    public func split(_ word: PreTokenizedWord, into words: inout [PreTokenizedWord]) {
        guard !word.scalars.isEmpty else { return }
        var replaced = word.scalars.map { $0 == " " ? replacement : $0 }
        let prepend = switch prependScheme {
        case .always: true
        case .first: word.atStart
        case .never: false
        }
        if prepend, replaced.first != replacement { replaced.insert(replacement, at: 0) }
        guard split else { words.append(PreTokenizedWord(replaced, atStart: word.atStart)); return }
        var current: [Unicode.Scalar] = []
        var atStart = word.atStart
        for scalar in replaced {
            if scalar == replacement, !current.isEmpty {
                words.append(PreTokenizedWord(current, atStart: atStart))
                atStart = false
                current = []
            }
            current.append(scalar)
        }
        if !current.isEmpty { words.append(PreTokenizedWord(current, atStart: atStart)) }
    }
}

/// `Split`: cuts at the matches of a pattern; `behavior` says where the matches go.
public struct SplitPreTokenizer: PreTokenizer {
    /// The `tokenizers` library's `SplitDelimiterBehavior`.
    public enum Behavior: String, Sendable {
        case removed = "Removed"
        case isolated = "Isolated"
        case mergedWithPrevious = "MergedWithPrevious"
        case mergedWithNext = "MergedWithNext"
        case contiguous = "Contiguous"
    }

    public let pattern: any SplitPattern
    public let behavior: Behavior
    /// Cut at what does not match instead.
    public let invert: Bool

    public init(pattern: any SplitPattern, behavior: Behavior = .isolated, invert: Bool = false) {
        self.pattern = pattern
        self.behavior = behavior
        self.invert = invert
    }

    public func split(_ word: PreTokenizedWord, into words: inout [PreTokenizedWord]) {
        let text = word.scalars
        guard !text.isEmpty else { return }
        // Every position of the word, as (range, is a delimiter).
        var segments: [(Range<Int>, Bool)] = []
        var offset = 0
        for range in pattern.matches(in: text) {
            if offset < range.lowerBound { segments.append((offset..<range.lowerBound, invert)) }
            segments.append((range, !invert))
            offset = range.upperBound
        }
        if offset < text.count { segments.append((offset..<text.count, invert)) }

        var pieces: [Range<Int>] = []
        switch behavior {
        case .removed:
            pieces = segments.filter { !$0.1 }.map(\.0)
        case .isolated:
            pieces = segments.map(\.0)
        case .mergedWithPrevious:
            var previousWasText = false
            for (range, isDelimiter) in segments {
                if isDelimiter, previousWasText, let last = pieces.popLast() {
                    pieces.append(last.lowerBound..<range.upperBound)
                } else {
                    pieces.append(range)
                }
                previousWasText = !isDelimiter
            }
        case .mergedWithNext:
            var pendingDelimiter: Range<Int>?
            for (range, isDelimiter) in segments {
                if isDelimiter {
                    if let pending = pendingDelimiter { pieces.append(pending) }
                    pendingDelimiter = range
                } else if let pending = pendingDelimiter {
                    pieces.append(pending.lowerBound..<range.upperBound)
                    pendingDelimiter = nil
                } else {
                    pieces.append(range)
                }
            }
            if let pending = pendingDelimiter { pieces.append(pending) }
        case .contiguous:
            var previousWasDelimiter = false
            for (range, isDelimiter) in segments {
                if isDelimiter, previousWasDelimiter, let last = pieces.popLast() {
                    pieces.append(last.lowerBound..<range.upperBound)
                } else {
                    pieces.append(range)
                }
                previousWasDelimiter = isDelimiter
            }
        }
        for range in pieces where !range.isEmpty {
            words.append(PreTokenizedWord(Array(text[range]), atStart: word.atStart && range.lowerBound == 0))
        }
    }
}

/// `ByteLevel`: optionally a space before words that do not start with one, optionally GPT-2's
/// split, then every UTF-8 byte written as a character of the byte-level alphabet.
public struct ByteLevelPreTokenizer: PreTokenizer {
    public let addPrefixSpace: Bool
    public let useRegex: Bool

    public init(addPrefixSpace: Bool, useRegex: Bool) {
        self.addPrefixSpace = addPrefixSpace
        self.useRegex = useRegex
    }

    public func split(_ word: PreTokenizedWord, into words: inout [PreTokenizedWord]) {
        var text = word.scalars
        if addPrefixSpace, text.first != " " { text.insert(" ", at: 0) }
        guard !text.isEmpty else { return }
        guard useRegex else {
            words.append(PreTokenizedWord(ByteLevelAlphabet.encode(text), atStart: word.atStart))
            return
        }
        var offset = 0
        var pieces: [Range<Int>] = []
        for range in GPT2Pattern().matches(in: text) {
            if offset < range.lowerBound { pieces.append(offset..<range.lowerBound) }
            pieces.append(range)
            offset = range.upperBound
        }
        if offset < text.count { pieces.append(offset..<text.count) }
        for range in pieces {
            words.append(PreTokenizedWord(ByteLevelAlphabet.encode(text[range]), atStart: word.atStart && range.lowerBound == 0))
        }
    }
}
