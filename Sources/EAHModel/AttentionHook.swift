/// A per-layer hook on decoder attention probabilities, called after the softmax and before
/// the probabilities weight the values.
///
/// This is the one place where calibration reads attention maps and where the EAH broadcast
/// rewrites them: a hook may read `probabilities` and may overwrite them in place (each row
/// must stay a distribution over the keys it may see). Hooks run on the calling thread.
public protocol AttentionHook: AnyObject {
    /// Whether the decoder must call this hook for `layer` in `phase`.
    func wants(layer: Int, phase: AttentionPhase) -> Bool
    /// Inspects or rewrites one layer's probabilities.
    func attention(_ probabilities: AttentionProbabilities, context: AttentionContext)
}
