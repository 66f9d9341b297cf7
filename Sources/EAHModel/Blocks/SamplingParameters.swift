/// How the next token is chosen.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 means greedy (argmax, ties to the lowest id).
    public var temperature: Float
    /// Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches
    /// `topP` (1 keeps all).
    public var topP: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.seed = seed
    }

    public static let greedy = SamplingParameters()
}
