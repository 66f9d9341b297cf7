/// A Hugging Face `tokenizer.json` tokenizer, identical to the `tokenizers` library's `encode`
/// and `decode`, composed as that library composes it: added tokens, normalizer, pre-tokenizer,
/// model, post-processor template and decoder (see `TokenizerComponents.swift`).
///
/// Encoding: added tokens (`<s>`, `<image>`, `<|im_start|>`, …) are matched whole first
/// (leftmost-longest, honouring `lstrip`, `rstrip`, `single_word`; `normalized` ones after
/// normalization); each remaining piece of text is normalized, pre-tokenized and handed word by
/// word to the model; the post-processor template adds BOS. Loaded by `TokenizerJSONFile.load(path:)`.
public struct HuggingFaceTokenizer: Tokenizer {
    /// Token texts by id (model vocabulary and added tokens).
    public let tokens: [String?]
    public let addedTokens: [AddedToken]
    public let normalizer: (any TextNormalizer)?
    public let preTokenizer: (any PreTokenizer)?
    public let model: any TokenizerModel
    public let decoder: (any TokenDecoder)?
    /// Ids the post-processor puts before and after the text when special tokens are added.
    public let prefixIDs: [Int]
    public let suffixIDs: [Int]
    public let bosID: Int?
    public let eosID: Int?

    let specialIDs: Set<Int>
    /// Ids whose text a streaming decoder must hold back (see `TokenDecoder.isPartial`).
    let partialIDs: Set<Int>
    /// Added tokens matched in the raw text and in the normalized text.
    let rawMatchers: AddedTokenMatchers
    let normalizedMatchers: AddedTokenMatchers

    public var vocabularySize: Int { tokens.count }

    /// Names of BOS and EOS tokens across families, most common first.
    static let bosNames = ["<s>", "<bos>", "<|begin_of_text|>"]
    static let eosNames = ["</s>", "<eos>", "<|endoftext|>", "<|end_of_text|>"]

    init(model: any TokenizerModel, addedTokens: [AddedToken], normalizer: (any TextNormalizer)?,
         preTokenizer: (any PreTokenizer)?, decoder: (any TokenDecoder)?, prefixIDs: [Int], suffixIDs: [Int]) {
        var tokens = model.tokenTexts
        // A `normalized` added token decodes as its normalized content (tokenizers' id_to_token:
        // "▁x" behind LLaMA's Prepend ▁ normalizer).
        for token in addedTokens where token.id < tokens.count {
            tokens[token.id] = token.normalized && !token.content.isEmpty
                ? normalizer.map { ScalarText.string($0.normalize(Array(token.content.unicodeScalars))) } ?? token.content
                : token.content
        }
        self.tokens = tokens
        self.model = model
        self.addedTokens = addedTokens
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.decoder = decoder
        self.prefixIDs = prefixIDs
        self.suffixIDs = suffixIDs
        // tokenizers skips a special token by its text: one whose decoded text the normalizer
        // changed is not found among the special texts, so it is kept.
        self.specialIDs = Set(addedTokens.filter { $0.special && $0.id < tokens.count && tokens[$0.id] == $0.content }.map(\.id))
        func find(_ names: [String]) -> Int? {
            for name in names {
                if let id = addedTokens.first(where: { $0.content == name })?.id ?? model.id(of: name) { return id }
            }
            return nil
        }
        self.bosID = find(Self.bosNames)
        self.eosID = find(Self.eosNames)
        var partial = Set<Int>()
        if let decoder {
            for (id, token) in tokens.enumerated() where token != nil && decoder.isPartial(token!) { partial.insert(id) }
        }
        self.partialIDs = partial.subtracting(addedTokens.map(\.id))
        self.rawMatchers = AddedTokenMatchers(addedTokens.filter { !$0.normalized && !$0.content.isEmpty }.map { ($0, Array($0.content.unicodeScalars)) })
        var normalizedMatchers: [(AddedToken, [Unicode.Scalar])] = []
        for token in addedTokens where token.normalized && !token.content.isEmpty {
            let scalars = Array(token.content.unicodeScalars)
            normalizedMatchers.append((token, normalizer?.normalize(scalars) ?? scalars))
        }
        self.normalizedMatchers = AddedTokenMatchers(normalizedMatchers)
    }

    // MARK: Encoding

    public func encode(_ text: String, addBOS: Bool) -> [Int] {
        var ids: [Int] = []
        var cache: [[Unicode.Scalar]: Range<Int>] = [:]
        var cached: [Int] = []
        let scalars = Array(text.unicodeScalars)
        var words: [PreTokenizedWord] = []
        for (range, token) in Self.split(scalars, matchers: rawMatchers) {
            if let token { ids.append(token); continue }
            let piece = Array(scalars[range])
            let normalized = normalizer?.normalize(piece) ?? piece
            for (inner, innerToken) in Self.split(normalized, matchers: normalizedMatchers) {
                if let innerToken { ids.append(innerToken); continue }
                let word = PreTokenizedWord(Array(normalized[inner]), atStart: range.lowerBound == 0 && inner.lowerBound == 0)
                words.removeAll(keepingCapacity: true)
                if let preTokenizer { preTokenizer.split(word, into: &words) } else if !word.scalars.isEmpty { words.append(word) }
                for word in words {
                    // Natural text repeats its words: merge each distinct short word once per call.
                    guard word.scalars.count <= 24 else { model.tokenize(word.scalars, into: &ids); continue }
                    if let range = cache[word.scalars] {
                        ids.append(contentsOf: cached[range])
                    } else {
                        let start = ids.count
                        model.tokenize(word.scalars, into: &ids)
                        if cache.count < 100_000 {
                            cache[word.scalars] = cached.count..<(cached.count + ids.count - start)
                            cached.append(contentsOf: ids[start...])
                        }
                    }
                }
            }
        }
        return addBOS ? prefixIDs + ids + suffixIDs : ids
    }

    /// Cuts `text` at matches of the added tokens: (range, token id or nil for plain text), as
    /// `tokenizers`' `AddedVocabulary::find_matches` does; empty plain pieces are dropped.
    static func split(_ text: [Unicode.Scalar], matchers: AddedTokenMatchers) -> [(Range<Int>, Int?)] {
        guard !matchers.tokens.isEmpty else { return text.isEmpty ? [] : [(0..<text.count, nil)] }
        var matches: [(Range<Int>, Int)] = []
        var position = 0
        var previousStop = 0
        while position < text.count {
            var best: (AddedToken, Int)?
            for index in matchers.byFirstScalar[text[position]] ?? [] {
                let (token, scalars) = matchers.tokens[index]
                guard scalars.count <= text.count - position, scalars.count > (best?.1 ?? 0) else { continue }
                if text[position..<position + scalars.count].elementsEqual(scalars) {
                    best = (token, scalars.count)
                }
            }
            guard let (token, length) = best else { position += 1; continue }
            var start = position
            var stop = position + length
            position = stop
            if token.singleWord {
                let before = start > 0 && isWordCharacter(text[start - 1])
                let after = stop < text.count && isWordCharacter(text[stop])
                if before || after { continue }
            }
            if token.lstrip {
                var newStart = start
                while newStart > 0, text[newStart - 1].properties.isWhitespace { newStart -= 1 }
                start = max(newStart, previousStop)
            }
            if token.rstrip {
                while stop < text.count, text[stop].properties.isWhitespace { stop += 1 }
            }
            previousStop = stop
            matches.append((start..<stop, token.id))
        }
        var pieces: [(Range<Int>, Int?)] = []
        var offset = 0
        for (range, id) in matches {
            if offset < range.lowerBound { pieces.append((offset..<range.lowerBound, nil)) }
            pieces.append((range, id))
            offset = range.upperBound
        }
        if offset < text.count { pieces.append((offset..<text.count, nil)) }
        return pieces
    }

    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "_"
    }

    // MARK: Decoding

    /// Whether `id`'s text depends on the tokens after it (a `<0xXX>` byte-fallback token, or a
    /// byte-level token holding part of a character).
    public func isBytePiece(_ id: Int) -> Bool {
        partialIDs.contains(id)
    }

    /// The text of `ids` without special added tokens (like sentencepiece dropping `<s>`).
    public func decode(_ ids: [Int]) throws(TokenizerProblem) -> String {
        try decode(ids, skipSpecialTokens: true)
    }

    /// The text of `ids` as `tokenizers`' `decode(ids, skip_special_tokens)`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) throws(TokenizerProblem) -> String {
        var pieces: [String] = []
        pieces.reserveCapacity(ids.count)
        for id in ids {
            guard id >= 0, id < tokens.count else { throw .idOutOfRange(id, vocabularySize: tokens.count) }
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            guard let token = tokens[id] else { continue }
            pieces.append(token)
        }
        guard let decoder else { return pieces.joined(separator: " ") }
        return decoder.decode(pieces).joined()
    }
}

/// Added tokens with their scalars, indexed by first scalar for the scan in `split`.
struct AddedTokenMatchers: Sendable {
    let tokens: [(AddedToken, [Unicode.Scalar])]
    let byFirstScalar: [Unicode.Scalar: [Int]]

    init(_ tokens: [(AddedToken, [Unicode.Scalar])]) {
        self.tokens = tokens
        var index: [Unicode.Scalar: [Int]] = [:]
        for (position, (_, scalars)) in tokens.enumerated() { index[scalars[0], default: []].append(position) }
        self.byFirstScalar = index
    }
}
