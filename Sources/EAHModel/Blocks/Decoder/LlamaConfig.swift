/// Hyperparameters of a LLaMA-shaped text decoder (LLaMA, Mistral, Qwen2: pre-norm RMSNorm,
/// rotate-half RoPE, SiLU-gated MLP); `spec` is the decoder they describe.
public struct LlamaConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// Key/value heads (grouped-query attention when fewer than `headCount`).
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabSize: Int
    public var rmsNormEps: Float
    public var maxPositionEmbeddings: Int
    /// RoPE: base, scaling type and its parameters.
    public var rope: RopeParameters
    /// q/k/v projections carry biases (LLaMA's `attention_bias`; always in Qwen2).
    public var queryKeyValueBias: Bool
    /// o_proj carries a bias (LLaMA's `attention_bias`; never in Qwen2).
    public var outputBias: Bool
    /// LLaMA's `attention_bias`: all four attention projections carry biases.
    public var attentionBias: Bool {
        get { queryKeyValueBias && outputBias }
        set { queryKeyValueBias = newValue; outputBias = newValue }
    }
    /// gate/up/down projections carry biases (`mlp_bias`).
    public var mlpBias: Bool
    /// `lm_head` shares `embed_tokens`.
    public var tieWordEmbeddings: Bool
    /// Generation stops after any of these (`eos_token_id`, 2 by default).
    public var eosTokenIDs: [Int]
    /// Mistral's `sliding_window` (nil: every earlier position is visible).
    public var slidingWindow: Int? = nil

    public init(
        hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int, headDim: Int,
        vocabSize: Int, rmsNormEps: Float, maxPositionEmbeddings: Int, rope: RopeParameters,
        attentionBias: Bool = false, mlpBias: Bool = false, tieWordEmbeddings: Bool = false, eosTokenIDs: [Int] = [2]
    ) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabSize = vocabSize
        self.rmsNormEps = rmsNormEps
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.rope = rope
        queryKeyValueBias = attentionBias
        outputBias = attentionBias
        self.mlpBias = mlpBias
        self.tieWordEmbeddings = tieWordEmbeddings
        self.eosTokenIDs = eosTokenIDs
    }
}
