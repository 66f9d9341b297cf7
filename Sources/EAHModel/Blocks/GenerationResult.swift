/// What a model's `generate` produced.
public struct GenerationResult: Sendable {
    /// Generated token ids, in order (a stop token, when reached, is included).
    public let tokens: [Int]
    /// Prompt positions (after image expansion).
    public let promptLength: Int
    /// When collected: one row of `vocab` logits per computed position, the prompt's rows then
    /// one per decode step (`promptLength + tokens.count − 1` rows), row-major.
    public let logits: [Float]?
}
