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
    /// A head whose probabilities every head in `targets` takes, known before attention runs
    /// (a static broadcast): the attention code then computes that one map instead of one per
    /// target head, and fills the targets (nil: every head) before calling `attention`.
    func sharedMap(layer: Int, phase: AttentionPhase) -> (head: Int, targets: [Int]?)?
}

extension AttentionHook {
    public func sharedMap(layer: Int, phase: AttentionPhase) -> (head: Int, targets: [Int]?)? { nil }
}
