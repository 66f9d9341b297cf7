/// A decoder stack described by data, so a family states what its text model is instead of
/// hard-wiring LLaMA: norms, attention, masks, RoPE, MLP and the embedding/head options.
///
/// Defaults are LLaMA's (`LlamaConfig.spec`). Every option here is implemented by
/// `TransformerDecoder`; options later families need (QK-norm, sandwich norms, soft-capping,
/// multi-section RoPE) are added with the first family that has them and a reference test.
public struct DecoderSpec: Sendable, Equatable {
    /// RMSNorm: `scale · x / sqrt(mean(x²) + eps)` with scale `w` (`weightOffset` 0) or `1 + w`
    /// (1, Gemma).
    public struct Norm: Sendable, Equatable {
        public var eps: Float
        public var weightOffset: Float
        /// Sandwich norms (Gemma 2/3): the attention and MLP outputs are normed too before each
        /// residual add (`post_attention_layernorm`, `post_feedforward_layernorm`).
        public var sandwich: Bool

        public init(eps: Float, weightOffset: Float = 0, sandwich: Bool = false) {
            self.eps = eps
            self.weightOffset = weightOffset
            self.sandwich = sandwich
        }
    }

    public struct Attention: Sendable, Equatable {
        public var headCount: Int
        public var kvHeadCount: Int
        /// Independent of hidden / heads.
        public var headDim: Int
        public var queryBias: Bool
        public var keyBias: Bool
        public var valueBias: Bool
        public var outputBias: Bool
        /// Scores are `q·k · scale` (1/√headDim unless the family says otherwise).
        public var scale: Float
        /// Queries and keys are RMS-normed per head (over `headDim`, the model's norm offset)
        /// before RoPE (`q_norm`, `k_norm`: Gemma 3).
        public var queryKeyNorm: Bool = false
    }

    /// Which keys a query sees.
    public enum Mask: Sendable, Equatable {
        /// Every earlier position and itself.
        case causal
        /// Causal, and key `j` is visible from query `i` only when `i − j < window`.
        case slidingWindow(Int)
    }

    public struct Rope: Sendable, Equatable {
        /// How a head's values pair up for rotation.
        public enum Style: Sendable, Equatable {
            /// Value `j` pairs with `j + rotated/2` (Hugging Face's `rotate_half`).
            case rotateHalf
            /// Value `2j` pairs with `2j + 1` (GPT-J, ggml's NORM mode).
            case interleaved
        }
        /// θ, scaling and `partial_rotary_factor` (only the first `headDim·factor` values of
        /// each head rotate).
        public var parameters: RopeParameters
        public var style: Style
        public var maxPositionEmbeddings: Int
        /// Multi-section RoPE (Qwen2-VL's M-RoPE, `mrope_section`): the rotary pairs are split
        /// into consecutive sections of these sizes (summing to the rotated half), section `s`
        /// rotating by position row `s % rows` of a multi-row position id (time, height, width).
        /// nil: one position per token.
        public var sections: [Int]? = nil
        /// The RoPE of sliding-window layers when it differs from the global one (Gemma 3's
        /// local θ without scaling); nil: every layer uses `parameters`.
        public var slidingParameters: RopeParameters? = nil
    }

    public struct MLP: Sendable, Equatable {
        /// `down(act(gate(x)) · up(x))` when gated, `down(act(up(x)))` otherwise.
        public var gated: Bool
        public var activation: Activation
        public var bias: Bool
    }

    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var vocabSize: Int
    public var norm: Norm
    public var attention: Attention
    /// One mask per layer.
    public var masks: [Mask]
    public var rope: Rope
    public var mlp: MLP
    /// Token embeddings (not image features) are multiplied by this (Gemma: √hidden).
    public var embeddingMultiplier: Float
    /// `lm_head` is the embedding matrix.
    public var tiedHead: Bool
    /// During a prefill, the positions of one image run see each other both ways (Gemma 3's
    /// mask from `token_type_ids`); a sliding window still bounds how far back a row sees.
    public var bidirectionalImages: Bool = false

    /// Whether layer `index` is a sliding-window layer.
    func isSliding(_ index: Int) -> Bool {
        if case .slidingWindow = masks[index] { true } else { false }
    }
}

extension LlamaConfig {
    /// The LLaMA-shaped decoder as a spec: pre-norm RMSNorm, rotate-half RoPE, SiLU-gated MLP,
    /// causal (or Mistral's sliding-window) mask; Qwen2 differs only in its q/k/v biases.
    public var spec: DecoderSpec {
        DecoderSpec(
            hiddenSize: hiddenSize, intermediateSize: intermediateSize, layerCount: layerCount, vocabSize: vocabSize,
            norm: .init(eps: rmsNormEps),
            attention: .init(headCount: headCount, kvHeadCount: kvHeadCount, headDim: headDim, queryBias: queryKeyValueBias,
                             keyBias: queryKeyValueBias, valueBias: queryKeyValueBias, outputBias: outputBias,
                             scale: 1 / Float(headDim).squareRoot()),
            masks: [DecoderSpec.Mask](repeating: slidingWindow.map { .slidingWindow($0) } ?? .causal, count: layerCount),
            rope: .init(parameters: rope, style: .rotateHalf, maxPositionEmbeddings: maxPositionEmbeddings),
            mlp: .init(gated: true, activation: .silu, bias: mlpBias),
            embeddingMultiplier: 1, tiedHead: tieWordEmbeddings)
    }
}
