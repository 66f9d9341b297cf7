import EAHCheckpoint
import EAHModel

/// The model's context window: a prompt and the tokens generated after it share the
/// `max_position_embeddings` positions of the decoder.
public enum ContextWindow {
    /// How many tokens may be generated after `prompt`: `requested`, cut to the positions left.
    /// Throws `PromptProblem.longerThanContext` when the prompt alone does not fit (attention
    /// over more positions than the model was made for, and memory quadratic in the length).
    /// `contextSize` (`--ctx-size`) narrows the window further.
    public static func tokensAfter(_ prompt: LlavaPrompt, requested: Int, config: LlavaConfig, source: String,
                                   contextSize: Int? = nil) throws(CheckpointError) -> Int {
        var context = config.text.maxPositionEmbeddings
        guard prompt.tokens.count <= context else {
            throw CheckpointError(path: source, problem: PromptProblem.longerThanContext(tokens: prompt.tokens.count, context: context))
        }
        if let contextSize, contextSize < context {
            context = contextSize
            guard prompt.tokens.count <= context else {
                throw CheckpointError(path: source, problem: PromptProblem.longerThanContextSize(tokens: prompt.tokens.count, contextSize: context))
            }
        }
        return max(0, min(requested, context - prompt.tokens.count))
    }
}

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
