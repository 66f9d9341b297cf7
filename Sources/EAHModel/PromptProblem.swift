import EAHCheckpoint

/// Why a prompt cannot run.
public enum PromptProblem: CheckpointProblem, Equatable {
    case longerThanContext(tokens: Int, context: Int)
    /// The prompt does not fit the `--ctx-size` the user set.
    case longerThanContextSize(tokens: Int, contextSize: Int)
    /// config.json's `image_token_index` (transformers' default 32000 when absent) is not the
    /// tokenizer's id of `<image>`.
    case imageTokenMismatch(configIndex: Int, tokenizerID: Int)
    /// The tokenizer splits `<image>` into several pieces (it lacks the added token).
    case imageNotAToken(pieces: Int)

    public var message: String {
        switch self {
        case .longerThanContext(let tokens, let context):
            "the prompt is \(tokens) tokens (image features included) but the model's context is \(context) positions (max_position_embeddings)"
        case .longerThanContextSize(let tokens, let size):
            "the prompt is \(tokens) tokens (image features included) but --ctx-size is \(size)"
        case .imageTokenMismatch(let index, let id):
            "image_token_index is \(index) (32000 when config.json does not set it) but the tokenizer's <image> token is \(id)"
        case .imageNotAToken(let pieces):
            "the tokenizer splits <image> into \(pieces) pieces; a llava-hf tokenizer has it as one added token"
        }
    }

    public var fix: String? {
        switch self {
        case .longerThanContext: "shorten the prompt"
        case .longerThanContextSize: "raise --ctx-size or shorten the prompt"
        case .imageTokenMismatch(_, let id): "set \"image_token_index\": \(id) in config.json"
        case .imageNotAToken: "use the tokenizer.json that came with the model"
        }
    }
}
