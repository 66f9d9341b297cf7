import EAHCheckpoint

/// The objects a caption mentions, found as CHAIR's reference script finds them (Rohrbach et
/// al. 2018, `utils/chair.py`, in the standalone copy OPERA and the EAH authors evaluate with):
///
/// 1. the caption is lowercased and split into tokens as nltk's `word_tokenize` does (words,
///    punctuation marks and clitics such as `'s` and `n't` are tokens of their own);
/// 2. each token is lemmatized (the script uses WordNet's lemmatizer with the token's part of
///    speech; see `lemma` for how it is reproduced without WordNet);
/// 3. consecutive tokens that form one of the script's two-word objects become one token
///    ("hot dog", "traffic light"), and its qualifier rules apply ("baby bird" → bird, "adult
///    cow" → cow, "passenger train" → train, "bow tie" → tie, "toilet seat" → toilet);
/// 4. when the caption says both "toilet" and "seat", "seat" is dropped (a toilet seat is no chair);
/// 5. the tokens in the synonyms list are the mentions, each mapped to its line's first entry.
///
/// Mentions are counted every time they occur. The synonyms list is CHAIR's (`CHAIRSynonyms`)
/// unless a file in its format is given (per line entries separated by ", ", as the script
/// splits them); annotation categories the list lacks name themselves.
public struct ObjectVocabulary: Sendable {
    /// Synonym → canonical object (the first entry of its line; a later line wins, as the
    /// script's dictionary does).
    private var canonicalObjects: [String: String] = [:]
    /// Every token the lemmatizer may return: the words of every synonym and two-word phrase.
    private var known: Set<String> = []

    /// The two-word phrases of the script and what each stands for.
    static let doubleWords: [String: String] = {
        var table: [String: String] = [:]
        for phrase in ["motor bike", "motor cycle", "air plane", "traffic light", "street light", "traffic signal", "stop light", "fire hydrant",
                       "stop sign", "parking meter", "suit case", "sports ball", "baseball bat", "baseball glove", "tennis racket", "wine glass",
                       "hot dog", "cell phone", "mobile phone", "teddy bear", "hair drier", "potted plant", "bow tie", "laptop computer",
                       "stove top oven", "home plate", "train track"] {
            table[phrase] = phrase
        }
        for animal in ["bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "animal", "cub"] {
            table["baby " + animal] = animal
            table["adult " + animal] = animal
        }
        for vehicle in ["jet", "train"] { table["passenger " + vehicle] = vehicle }
        table["bow tie"] = "tie"
        table["toilet seat"] = "toilet"
        table["wine glas"] = "wine glass"
        return table
    }()

    /// CHAIR's own list.
    public static let chair: ObjectVocabulary = {
        // The embedded list parses: a failure here is a programming error caught by the tests.
        (try? ObjectVocabulary(synonyms: CHAIRSynonyms.text)) ?? ObjectVocabulary()
    }()

    private init() {}

    /// The objects of a synonyms file's text (CHAIR's format). Blank lines are skipped.
    public init(synonyms text: String) throws(EvaluationProblem) {
        var number = 0, lines = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            // Python's str.strip(), then split(', ').
            let trimmed = String(line.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
            if trimmed.isEmpty { continue }
            let entries = Self.split(trimmed, at: ", ")
            guard let canonical = entries.first, !canonical.isEmpty else {
                throw .badSynonymLine(line: number, reason: "the canonical object (the first entry) is empty")
            }
            for entry in entries { canonicalObjects[entry] = canonical }
            lines += 1
        }
        guard lines > 0 else { throw .badSynonymLine(line: number, reason: "the file lists no object") }
        finish()
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

    /// `text` split at every `separator`, empty pieces kept (Python's `str.split(separator)`).
    static func split(_ text: String, at separator: String) -> [String] {
        var pieces: [String] = []
        var rest = Substring(text)
        while let range = rest.firstRange(of: separator) {
            pieces.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        pieces.append(String(rest))
        return pieces
    }

    /// This vocabulary with each category name it lacks as an object of its own (annotation
    /// sets other than COCO; the script would fail on them).
    public func adding(categories: [String]) -> ObjectVocabulary {
        var copy = self
        for name in categories.map({ $0.lowercased() }) where copy.canonicalObjects[name] == nil { copy.canonicalObjects[name] = name }
        copy.finish()
        return copy
    }

    private mutating func finish() {
        known = Set(canonicalObjects.keys.flatMap { $0.split(separator: " ").map(String.init) })
        for phrase in Self.doubleWords.keys { known.formUnion(phrase.split(separator: " ").map(String.init)) }
    }

    /// What CHAIR reads in one caption.
    public struct Scan: Sendable, Equatable {
        /// The tokens after lemmatization and two-word merging (their count is CHAIR's length).
        public let tokens: [String]
        /// Each mention in order: the word as merged, and its canonical object.
        public let mentions: [(word: String, object: String)]

        public static func == (a: Scan, b: Scan) -> Bool {
            a.tokens == b.tokens && a.mentions.map(\.word) == b.mentions.map(\.word) && a.mentions.map(\.object) == b.mentions.map(\.object)
        }
    }

    /// The tokens and mentions of `caption`.
    public func scan(_ caption: String) -> Scan {
        let lemmas = Self.tokenize(caption.lowercased()).map { lemma($0) }
        var merged: [String] = []
        var index = 0
        while index < lemmas.count {
            if index + 1 < lemmas.count, let word = Self.doubleWords[lemmas[index] + " " + lemmas[index + 1]] {
                merged.append(word)
                index += 2
            } else {
                merged.append(lemmas[index])
                index += 1
            }
        }
        var words = merged
        if words.contains("toilet"), words.contains("seat") { words.removeAll { $0 == "seat" } }
        let mentions = words.compactMap { word in canonicalObjects[word].map { (word: word, object: $0) } }
        return Scan(tokens: merged, mentions: mentions)
    }

    /// The canonical objects `text` mentions, each once, in order of first mention.
    public func objects(in text: String) -> [String] {
        var found: [String] = []
        for mention in scan(text).mentions where !found.contains(mention.object) { found.append(mention.object) }
        return found
    }

    /// The canonical object an annotation category stands for (its own name when the list lacks it).
    public func canonical(_ name: String) -> String {
        canonicalObjects[name] ?? canonicalObjects[name.lowercased()] ?? name.lowercased()
    }

    // MARK: Tokens and lemmas

    /// nltk's `word_tokenize` on lowercased text, as far as CHAIR depends on it: runs of letters
    /// and digits (with inner hyphens, and inner periods or commas between digits) are words;
    /// `'s`, `'re`, `'ve`, `'ll`, `'d`, `'m` and `n't` are split off; each other punctuation mark
    /// is a token, a run of periods one token.
    public static func tokenize(_ text: String) -> [String] {
        let characters = Array(text)
        var tokens: [String] = []
        var index = 0
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber }
        while index < characters.count {
            let c = characters[index]
            if c.isWhitespace { index += 1; continue }
            if isWord(c) {
                var end = index
                while end < characters.count {
                    if isWord(characters[end]) { end += 1; continue }
                    let next = end + 1 < characters.count ? characters[end + 1] : " "
                    if characters[end] == "-", isWord(next) { end += 1; continue }
                    if characters[end] == "." || characters[end] == ",", characters[end - 1].isNumber, next.isNumber { end += 1; continue }
                    break
                }
                var word = String(characters[index..<end])
                // "don't" → do + n't
                if end + 1 < characters.count, characters[end] == "'", characters[end + 1] == "t", word.hasSuffix("n"),
                   end + 2 >= characters.count || !isWord(characters[end + 2]) {
                    word.removeLast()
                    if !word.isEmpty { tokens.append(word) }
                    tokens.append("n't")
                    index = end + 2
                    continue
                }
                tokens.append(word)
                index = end
                continue
            }
            if c == "'" || c == "’" {
                var end = index + 1
                while end < characters.count, characters[end].isLetter { end += 1 }
                let clitic = String(characters[(index + 1)..<end])
                if ["s", "re", "ve", "ll", "d", "m"].contains(clitic), !tokens.isEmpty {
                    tokens.append("'" + clitic)
                    index = end
                } else {
                    tokens.append(String(c))
                    index += 1
                }
                continue
            }
            if c == "." {
                var end = index
                while end < characters.count, characters[end] == "." { end += 1 }
                tokens.append(String(characters[index..<end]))
                index = end
                continue
            }
            tokens.append(String(c))
            index += 1
        }
        return tokens
    }

    /// WordNet's noun detachment rules, in nltk's order.
    static let nounRules: [(String, String)] = [
        ("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"), ("ies", "y"),
    ]

    /// Irregular plurals of WordNet's noun exception list that reach CHAIR's words.
    static let irregularNouns: [String: String] = [
        "children": "child", "mice": "mouse", "geese": "goose", "oxen": "ox", "teeth": "tooth", "feet": "foot", "knives": "knife",
        "wives": "wife", "leaves": "leaf", "loaves": "loaf", "calves": "calf", "halves": "half", "shelves": "shelf", "wolves": "wolf",
        "buffaloes": "buffalo", "tomatoes": "tomato", "potatoes": "potato", "cacti": "cactus", "dice": "die",
    ]

    /// The lemma of `token`: WordNet's lemmatizer returns the shortest of the token and its rule
    /// forms that WordNet lists. Only whether a lemma is one of CHAIR's words matters, so the
    /// forms are checked against those words instead of WordNet: the shortest of the token and
    /// its noun forms (or its irregular singular) among the known words, else the token. The
    /// script tags parts of speech first; a present participle is lemmatized as a verb there
    /// ("skiing" → ski), reproduced here for "-ing" tokens whose verb form is a known word.
    public func lemma(_ token: String) -> String {
        var forms = [token]
        if let singular = Self.irregularNouns[token] {
            forms.append(singular)
        } else {
            for (suffix, replacement) in Self.nounRules where token.hasSuffix(suffix) {
                forms.append(String(token.dropLast(suffix.count)) + replacement)
            }
        }
        if token.hasSuffix("ing"), token.count > 4 {
            let stem = String(token.dropLast(3))
            forms += [stem + "e", stem]
        }
        let valid = forms.filter(known.contains)
        return valid.min { $0.count < $1.count } ?? token
    }
}
