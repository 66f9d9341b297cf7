/// Hyperparameters of the CLIP ViT vision tower.
public struct CLIPVisionConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var imageSize: Int
    public var patchSize: Int
    public var channelCount: Int
    public var layerNormEps: Float
    /// `quick_gelu` (CLIP's default) or `gelu`.
    public var hiddenAct: Activation

    public init(hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, imageSize: Int, patchSize: Int,
                channelCount: Int = 3, layerNormEps: Float = 1e-5, hiddenAct: Activation = .quickGELU) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.channelCount = channelCount
        self.layerNormEps = layerNormEps
        self.hiddenAct = hiddenAct
    }

    /// Patches per image side.
    public var patchesPerSide: Int { imageSize / patchSize }
    /// Positions: the class token plus every patch.
    public var positionCount: Int { patchesPerSide * patchesPerSide + 1 }
}
