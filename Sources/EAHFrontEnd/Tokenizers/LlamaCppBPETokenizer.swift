/// llama.cpp's BPE tokenizer (`llm_tokenizer_bpe`), the reference for GGUF vocabularies with
/// `tokenizer.ggml.model = gpt2` (GPT-2, LLaMA 3, Qwen2, …): control, user-defined and unknown
/// tokens are cut out first, each remaining fragment is split by the regular expressions of
/// `tokenizer.ggml.pre`, written in the byte-level alphabet and merged by merge rank.
///
/// Unlike the `tokenizers` library on the same model's tokenizer.json, llama.cpp applies no
/// normalizer (Qwen2's NFC): text with decomposed characters can tokenize differently.
public struct LlamaCppBPETokenizer: Tokenizer {
    /// The pre-tokenizer types eah reads, with the split patterns llama.cpp applies in order.
    static let preTokenizerPatterns: [String: [any SplitPattern]] = {
        let llama3: [any SplitPattern] = [Llama3Pattern(maxDigits: 3)]
        let qwen2: [any SplitPattern] = [Llama3Pattern(maxDigits: 1)]
        let gpt2: [any SplitPattern] = [GPT2Pattern()]
        return [
            "default": [PunctuationRunPattern(), GPT2Pattern(), NumberRunPattern(maxLength: nil), ThreeDigitPattern()],
            "gpt-2": gpt2,
            "llama3": llama3, "llama-v3": llama3, "llama-bpe": llama3,
            "qwen2": qwen2, "deepseek-r1-qwen": qwen2,
            "smollm": [NumberRunPattern(maxLength: 1), GPT2Pattern()],
        ]
    }()
    /// Pre-tokenizer types whose vocabularies look up a whole word before merging (`ignore_merges`).
    static let ignoringMerges: Set<String> = ["llama3", "llama-v3", "llama-bpe"]

    public let tokens: [String]
    public let kinds: [TokenPieceKind]
    public let bosID: Int?
    public let eosID: Int?
    public let addsBOS: Bool
    public let addsEOS: Bool
    let partition: SpecialTokenPartition
    let preTokenizer: any PreTokenizer
    let model: BPEModel
    let partialIDs: Set<Int>

    public var vocabularySize: Int { tokens.count }

    init(tokens: [String], kinds: [TokenPieceKind], merges: [(String, String)], preType: String, bosID: Int?, eosID: Int?,
         addsBOS: Bool?, addsEOS: Bool) throws(TokenizerProblem) {
        guard let patterns = Self.preTokenizerPatterns[preType] else {
            throw .unsupportedComponent("the GGUF pre-tokenizer \"\(preType)\" (tokenizer.ggml.pre)")
        }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(tokens.count)
        var special: [(id: Int, text: String)] = []
        for (id, text) in tokens.enumerated() {
            vocabulary[text] = id
            if [.control, .userDefined, .unknown].contains(kinds[id]) { special.append((id, text)) }
        }
        self.tokens = tokens
        self.kinds = kinds
        self.bosID = bosID
        self.eosID = eosID
        self.addsBOS = (addsBOS ?? Self.ignoringMerges.contains(preType)) && bosID != nil
        self.addsEOS = addsEOS && eosID != nil
        self.partition = SpecialTokenPartition(special: special)
        self.preTokenizer = PreTokenizerSequence(steps: patterns.map { SplitPreTokenizer(pattern: $0) }
                                                 + [ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: false)])
        self.model = try BPEModel(vocabulary: vocabulary, merges: merges, unknownToken: nil, fuseUnknown: false,
                                  byteFallback: false, ignoreMerges: Self.ignoringMerges.contains(preType), size: tokens.count)
        let decoder = ByteLevelDecoder()
        var partial = Set<Int>()
        for (id, text) in tokens.enumerated() where kinds[id] == .normal && decoder.isPartial(text) { partial.insert(id) }
        self.partialIDs = partial
    }

    public func encode(_ text: String, addBOS: Bool) -> [Int] {
        var ids: [Int] = []
        if addBOS, addsBOS, let bosID { ids.append(bosID) }
        let bytes = Array(text.utf8)
        var words: [PreTokenizedWord] = []
        for fragment in partition.fragments(bytes) {
            switch fragment {
            case .token(let id):
                ids.append(id)
            case .text(let range):
                let scalars = Array(String(decoding: bytes[range], as: UTF8.self).unicodeScalars)
                words.removeAll(keepingCapacity: true)
                preTokenizer.split(PreTokenizedWord(scalars, atStart: range.lowerBound == 0), into: &words)
                for word in words { model.tokenize(word.scalars, into: &ids) }
            }
        }
        if addBOS, addsEOS, let eosID { ids.append(eosID) }
        return ids
    }

    public func isBytePiece(_ id: Int) -> Bool { partialIDs.contains(id) }

    /// llama.cpp's detokenization without special tokens: normal tokens from the byte-level
    /// alphabet, user-defined tokens as written, control tokens dropped.
    public func decode(_ ids: [Int]) throws(TokenizerProblem) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard id >= 0, id < tokens.count else { throw .idOutOfRange(id, vocabularySize: tokens.count) }
            switch kinds[id] {
            case .normal: ByteLevelDecoder.appendBytes(of: tokens[id], to: &bytes)
            case .userDefined: bytes.append(contentsOf: tokens[id].utf8)
            default: break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
