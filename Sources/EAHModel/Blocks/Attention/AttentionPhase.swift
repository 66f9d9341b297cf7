/// Which pass of generation an attention computation belongs to.
public enum AttentionPhase: String, Sendable, Equatable {
    /// The prompt, all positions at once.
    case prefill
    /// One generated token attending to the cache.
    case decode
}
