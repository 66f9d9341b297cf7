/// Rotary position embedding parameters, as transformers' `rope_parameters`/`rope_scaling`.
public struct RopeParameters: Sendable, Equatable {
    /// The scaling rule; `default` is plain RoPE.
    public enum ScalingType: String, Sendable, Equatable {
        case `default`, linear, dynamic, llama3, yarn
    }

    public var theta: Double
    public var type: ScalingType
    /// `factor` for linear, dynamic, llama3 and yarn.
    public var factor: Double
    /// llama3: `low_freq_factor`, `high_freq_factor`; yarn: `beta_fast`, `beta_slow`, ...
    public var extra: [String: Double]
    /// `original_max_position_embeddings` where the type uses it.
    public var originalMaxPositionEmbeddings: Int?

    public init(theta: Double, type: ScalingType = .default, factor: Double = 1, extra: [String: Double] = [:], originalMaxPositionEmbeddings: Int? = nil) {
        self.theta = theta
        self.type = type
        self.factor = factor
        self.extra = extra
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }
}
