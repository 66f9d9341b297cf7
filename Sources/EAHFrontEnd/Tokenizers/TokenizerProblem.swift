import EAHCheckpoint

/// What is wrong with a tokenizer file (`tokenizer.model`, `tokenizer.json` or a GGUF's
/// `tokenizer.ggml.*` metadata), or with ids handed to `decode`.
///
/// Thrown inside a `CheckpointError` that names the file; tests match these cases exactly.
public enum TokenizerProblem: CheckpointProblem, Equatable {
    /// libprotobuf-c could not decode the bytes as a SentencePiece `ModelProto`.
    case invalidModelProto(byteCount: Int)
    /// Unpacking tokenizer.model would allocate more than `limit` bytes (`AllocationBudget`).
    case allocationBudget(limit: Int)
    /// The SentencePiece model is not BPE (e.g. unigram, as in T5); only BPE is implemented.
    case unsupportedModelType(String)
    /// The SentencePiece model's precompiled normalization charsmap is truncated (its trie size
    /// does not fit the blob).
    case invalidCharsmap(byteCount: Int)
    /// The model or metadata lists no pieces.
    case emptyVocabulary
    /// Two pieces of the same lookup class have the same text.
    case duplicatePiece(String, id: Int)
    /// A special id (`which`: unk, bos, eos, pad) is outside the vocabulary or has the wrong kind.
    case invalidSpecialID(which: String, id: Int, vocabularySize: Int)
    /// `tokenizer.json` has no `model` object.
    case missingModel
    /// The tokenizer uses a component eah does not implement (`what` names it, e.g. a
    /// `tokenizer.json` normalizer type or a SentencePiece precompiled normalization charsmap).
    case unsupportedComponent(String)
    /// A field of `tokenizer.json` is missing or has the wrong type (`path` is its JSON path).
    case malformedJSON(path: String)
    /// A BPE merge names a token that is not in the vocabulary, or whose concatenation is not.
    case invalidMerge(String)
    /// A line of `merges.txt` is not UTF-8 or not two tokens separated by a space.
    case malformedMerges(line: Int)
    /// `tokenizer_config.json` names a `tokenizer_class` (or none) that eah cannot build from
    /// `vocab.json` and `merges.txt`.
    case unsupportedTokenizerClass(String?)
    /// The GGUF has no `tokenizer.ggml.tokens` (or no `tokenizer.ggml.model`).
    case missingTokenizerMetadata(key: String)
    /// The GGUF's `tokenizer.ggml.model` is neither `llama` (SentencePiece) nor `gpt2` (byte-level
    /// BPE), or the SentencePiece reader was handed a `gpt2` vocabulary.
    case unsupportedGGUFTokenizer(String)
    /// A `tokenizer.ggml.*` array has the wrong element type or length.
    case malformedMetadata(key: String, reason: String)
    /// `decode` received an id that is not in the vocabulary.
    case idOutOfRange(Int, vocabularySize: Int)

    public var message: String {
        switch self {
        case .invalidModelProto(let count):
            "not a SentencePiece model: the \(count) bytes do not decode as a sentencepiece.ModelProto protobuf"
        case .allocationBudget(let limit):
            "decoding the SentencePiece model would allocate more than \(limit) bytes, out of proportion to its size (a flood of tiny pieces); it is not a real tokenizer.model"
        case .unsupportedModelType(let type): "SentencePiece model type \(type) is not supported (only BPE, as LLaMA uses)"
        case .invalidCharsmap(let count):
            "the SentencePiece normalization rule (precompiled_charsmap, \(count) bytes) is truncated: its trie size does not fit"
        case .emptyVocabulary: "the tokenizer has no pieces"
        case .duplicatePiece(let piece, let id): "piece \"\(piece)\" (id \(id)) appears more than once"
        case .invalidSpecialID(let which, let id, let size): "\(which) id \(id) is not a valid token of the \(size)-token vocabulary"
        case .missingModel: "tokenizer.json has no \"model\""
        case .unsupportedComponent(let what): "the tokenizer uses \(what), which is not supported"
        case .malformedJSON(let path): "JSON field \(path) is missing or has the wrong type"
        case .malformedMerges(let line): "line \(line) is not a merge (two UTF-8 tokens separated by a space)"
        case .unsupportedTokenizerClass(let name?):
            "tokenizer_class \(JSONValue.string(name).serialized) is not one eah builds from vocab.json and merges.txt (it reads \(VocabMergesFile.classNames))"
        case .unsupportedTokenizerClass(nil):
            "tokenizer_config.json names no tokenizer_class, so the pipeline to build from vocab.json and merges.txt is unknown (eah reads \(VocabMergesFile.classNames))"
        case .invalidMerge(let merge): "BPE merge \"\(merge)\" names tokens that are not in the vocabulary"
        case .missingTokenizerMetadata(let key): "the GGUF has no tokenizer metadata (\(key) is missing)"
        case .unsupportedGGUFTokenizer(let model): "GGUF tokenizer model \"\(model)\" is not supported here (eah reads \"llama\", SentencePiece, and \"gpt2\", byte-level BPE)"
        case .malformedMetadata(let key, let reason): "GGUF metadata \(key) \(reason)"
        case .idOutOfRange(let id, let size): "token id \(id) is outside the vocabulary of \(size) tokens"
        }
    }

    public var fix: String? {
        switch self {
        case .invalidModelProto: "pass the model's tokenizer.model (a SentencePiece model), or download it again"
        case .unsupportedModelType, .unsupportedGGUFTokenizer, .unsupportedComponent: "use a SentencePiece BPE or byte-level BPE tokenizer (LLaMA, Mistral, Gemma, Qwen2 families), or convert the model's tokenizer with llama.cpp's convert_hf_to_gguf.py"
        case .missingModel, .malformedJSON, .invalidMerge, .malformedMerges: "download the tokenizer files again or pass tokenizer.model instead"
        case .unsupportedTokenizerClass: "save the tokenizer with transformers (AutoTokenizer.from_pretrained(folder).save_pretrained(folder) writes tokenizer.json, which eah reads)"
        case .missingTokenizerMetadata: "convert the model with llama.cpp's convert_hf_to_gguf.py, which writes the vocabulary, or pass tokenizer.model"
        case .invalidCharsmap, .emptyVocabulary, .duplicatePiece, .invalidSpecialID, .malformedMetadata, .allocationBudget: "the tokenizer file is corrupt; download or convert it again"
        case .idOutOfRange: nil
        }
    }

    public var isUsageError: Bool {
        if case .idOutOfRange = self { return true }
        return false
    }
}
