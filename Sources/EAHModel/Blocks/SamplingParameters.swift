/// How the next token is chosen from the logits.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 means greedy (argmax, ties to the lowest id).
    public var temperature: Float
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches
    /// `topP` (1 keeps all).
    public var topP: Float
    /// Keep only the `topK` most likely tokens (0 keeps all).
    public var topK: Int
    /// Drop tokens less likely than `minP` times the most likely one (0 keeps all).
    public var minP: Float
    /// transformers' repetition penalty over the tokens generated so far: a positive logit is
    /// divided by it, a negative one multiplied (1 changes nothing). Applies to greedy decoding too.
    public var repeatPenalty: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topP: Float = 1, topK: Int = 0, minP: Float = 0, repeatPenalty: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.repeatPenalty = repeatPenalty
        self.seed = seed
    }

    public static let greedy = SamplingParameters()
}
