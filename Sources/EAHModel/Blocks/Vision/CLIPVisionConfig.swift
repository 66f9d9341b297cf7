/// Hyperparameters of a ViT vision tower: CLIP's, or SigLIP's (`architecture`); `spec` is the
/// tower they describe.
public struct CLIPVisionConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var imageSize: Int
    public var patchSize: Int
    public var channelCount: Int
    public var layerNormEps: Float
    /// `quick_gelu` (CLIP's default), `gelu` or `gelu_pytorch_tanh` (SigLIP's).
    public var hiddenAct: Activation
    /// CLIP or SigLIP embeddings.
    public var architecture: VisionArchitecture

    public init(hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, imageSize: Int, patchSize: Int,
                channelCount: Int = 3, layerNormEps: Float = 1e-5, hiddenAct: Activation = .quickGELU,
                architecture: VisionArchitecture = .clip) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channelCount = channelCount
        self.layerNormEps = layerNormEps
        self.hiddenAct = hiddenAct
        self.architecture = architecture
    }

    /// Patches per image side.
    public var patchesPerSide: Int { imageSize / patchSize }
    /// Positions: every patch, plus the class token (CLIP).
    public var positionCount: Int { spec.positionCount }
}
