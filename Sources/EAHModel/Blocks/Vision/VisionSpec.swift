/// A ViT vision tower described by data, so a family states what its encoder is instead of
/// hard-wiring CLIP: embeddings (class token, patch bias, learned positions, pre-norm) and pre-LN
/// blocks (LayerNorm, separate q/k/v/out projections with biases, a plain MLP).
///
/// CLIP (`CLIPVisionConfig.spec` with `.clip`) and SigLIP (`.siglip`) are both this spec. The
/// feature is any layer's output before the post-norm (`VisionTower.hiddenStates`: LLaVA,
/// OneVision) or the last one after it (`VisionTower.lastHiddenState`: Gemma 3, SmolVLM). Options
/// later towers need (RMSNorm, fused qkv, QK-norm, layer scale, SwiGLU, 2D RoPE, window masks) are
/// added with the first family that has them and a reference test.
public struct VisionSpec: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var imageSize: Int
    public var patchSize: Int
    public var channelCount: Int
    /// LayerNorm epsilon of every norm of the tower.
    public var layerNormEps: Float
    /// The MLP's activation between fc1 and fc2.
    public var activation: Activation
    /// A learned class token precedes the patches (CLIP); none in SigLIP.
    public var classToken: Bool
    /// The patch convolution has a bias (SigLIP); none in CLIP.
    public var patchBias: Bool
    /// A LayerNorm on the embeddings before the first block (CLIP's `pre_layrnorm`).
    public var preNorm: Bool

    /// Patches per image side.
    public var patchesPerSide: Int { imageSize / patchSize }
    /// Positions: every patch, plus the class token when there is one.
    public var positionCount: Int { patchesPerSide * patchesPerSide + (classToken ? 1 : 0) }
    public var headDim: Int { hiddenSize / headCount }
}

/// The vision encoders the config readers know, each a `VisionSpec`.
public enum VisionArchitecture: String, Sendable, Equatable {
    /// CLIP ViT (`clip_vision_model`): class token, `pre_layrnorm`, bias-free patch convolution.
    case clip
    /// SigLIP (`siglip_vision_model`): no class token, no pre-norm, a patch convolution with bias.
    case siglip
}

extension CLIPVisionConfig {
    /// The tower as a spec: CLIP's or SigLIP's embeddings around the shared pre-LN blocks.
    public var spec: VisionSpec {
        VisionSpec(hiddenSize: hiddenSize, intermediateSize: intermediateSize, layerCount: layerCount, headCount: headCount,
                   imageSize: imageSize, patchSize: patchSize, channelCount: channelCount, layerNormEps: layerNormEps,
                   activation: hiddenAct, classToken: architecture == .clip, patchBias: architecture == .siglip,
                   preNorm: architecture == .clip)
    }
}
