import EAHCheckpoint

/// The words and phrases that name each object, for finding the objects a caption mentions.
///
/// A synonyms file (the format of CHAIR's list) has one object per line: the canonical word (the
/// COCO category name) then its synonyms, comma-separated; blank lines and lines starting with
/// `#` are skipped; when two lines list the same phrase, the first wins. Plurals map to their
/// singular through the list: each listed phrase also gets its naive English plural unless the
/// list names that plural itself. Without a file, each category name (and its plural) names
/// itself. Text is lowercased and every character that is not a letter or digit splits words, so
/// "Hot-dogs," reads as `hot dogs`; multi-word phrases ("traffic light") match as a whole, the
/// longest phrase first.
public struct ObjectVocabulary: Sendable {
    /// Normalised phrase (words joined by one space) → canonical object.
    private var phrases: [String: String] = [:]
    /// The most words any phrase has.
    private var longest = 1

    /// Each category name, and its plural, as its own object.
    public init(categories: [String]) {
        var explicit: [(String, String)] = []
        for name in categories {
            let phrase = Self.normalise(name)
            if !phrase.isEmpty { explicit.append((phrase, phrase)) }
        }
        add(explicit)
    }

    /// The objects of a synonyms file's text.
    public init(synonyms text: String) throws(EvaluationProblem) {
        var explicit: [(String, String)] = []
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.allSatisfy({ $0.isWhitespace }) || trimmed.hasPrefix("#") { continue }
            let entries = trimmed.split(separator: ",", omittingEmptySubsequences: false).map { Self.normalise(String($0)) }
            guard let canonical = entries.first, !canonical.isEmpty else {
                throw .badSynonymLine(line: number, reason: "the canonical object (the first entry) is empty")
            }
            for phrase in entries where !phrase.isEmpty { explicit.append((phrase, canonical)) }
        }
        guard !explicit.isEmpty else { throw .badSynonymLine(line: number, reason: "the file lists no object") }
        add(explicit)
    }

    /// Reads a synonyms file.
    public init(path: String) throws(CheckpointError) {
        let file = try MappedFile(path: path)
        let text = withExtendedLifetime(file) { String(decoding: file.bytes, as: UTF8.self) }
        do throws(EvaluationProblem) {
            try self.init(synonyms: text)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// The canonical objects `text` mentions, each once, in order of first mention.
    public func objects(in text: String) -> [String] {
        var found: [String] = []
        for object in mentions(in: text) where !found.contains(object) { found.append(object) }
        return found
    }

    /// Every mention of an object in `text`, in order (repeats kept).
    public func mentions(in text: String) -> [String] {
        let words = Self.words(text)
        var found: [String] = []
        var index = 0
        scanning: while index < words.count {
            for length in stride(from: min(longest, words.count - index), through: 1, by: -1) {
                if let object = phrases[words[index..<(index + length)].joined(separator: " ")] {
                    found.append(object)
                    index += length
                    continue scanning
                }
            }
            index += 1
        }
        return found
    }

    /// The canonical object a category name stands for (the name itself, normalised, when the
    /// vocabulary does not list it).
    public func canonical(_ name: String) -> String {
        let phrase = Self.normalise(name)
        return phrases[phrase] ?? phrase
    }

    /// `text` lowercased and split into words at every character that is not a letter or digit.
    public static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The naive English plural of a phrase (its last word): irregular nouns from a short table,
    /// -s/-x/-z/-ch/-sh → -es, consonant + y → -ies, -fe → -ves, else + s.
    public static func plural(_ phrase: String) -> String {
        var words = phrase.split(separator: " ").map(String.init)
        guard let last = words.last else { return phrase }
        words[words.count - 1] = pluralWord(last)
        return words.joined(separator: " ")
    }

    private static let irregular = [
        "person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice", "foot": "feet",
        "tooth": "teeth", "sheep": "sheep", "knife": "knives", "leaf": "leaves", "fish": "fish", "deer": "deer",
    ]

    private static func pluralWord(_ word: String) -> String {
        if let plural = irregular[word] { return plural }
        if ["s", "x", "z", "ch", "sh"].contains(where: { word.hasSuffix($0) }) { return word + "es" }
        if word.hasSuffix("y"), let before = word.dropLast().last, !"aeiou".contains(before) { return word.dropLast() + "ies" }
        if word.hasSuffix("fe") { return word.dropLast(2) + "ves" }
        return word + "s"
    }

    private static func normalise(_ text: String) -> String {
        words(text).joined(separator: " ")
    }

    /// Adds explicit phrases (first wins), then the plurals the list does not name.
    private mutating func add(_ explicit: [(String, String)]) {
        for (phrase, canonical) in explicit where phrases[phrase] == nil { phrases[phrase] = canonical }
        for (phrase, canonical) in explicit {
            let plural = Self.plural(phrase)
            if phrases[plural] == nil { phrases[plural] = canonical }
        }
        longest = phrases.keys.map { $0.split(separator: " ").count }.max() ?? 1
    }
}
