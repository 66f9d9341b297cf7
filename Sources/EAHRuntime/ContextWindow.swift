import EAHCheckpoint
import EAHModel

/// The model's context window: a prompt and the tokens generated after it share the
/// `max_position_embeddings` positions of the decoder.
public enum ContextWindow {
    /// How many tokens may be generated after `prompt`: `requested`, cut to the positions left.
    /// Throws `PromptProblem.longerThanContext` when the prompt alone does not fit (attention
    /// over more positions than the model was made for, and memory quadratic in the length).
    /// `contextSize` (`--ctx-size`) narrows the window further.
    public static func tokensAfter(_ prompt: ModelInput, requested: Int, shape: DecoderShape, source: String,
                                   contextSize: Int? = nil) throws(CheckpointError) -> Int {
        var context = shape.contextLength
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
