/// A whole LLaVA model's configuration: vision tower, projector and text decoder.
public struct LlavaConfig: Sendable, Equatable {
    /// Which vision-tower outputs become image features.
    public enum FeatureSelect: String, Sendable, Equatable {
        /// Drop the class token (LLaVA-1.5).
        case `default`
        /// Keep it.
        case full
    }

    public var text: LlamaConfig
    public var vision: CLIPVisionConfig
    /// Vision hidden-state indices to take features from (transformers' `vision_feature_layer`,
    /// negative counts from the end of `hidden_states`, which has layerCount + 1 entries);
    /// several are concatenated along the feature dimension.
    public var visionFeatureLayers: [Int]
    public var featureSelect: FeatureSelect
    /// The projector's activation between its two linears (`projector_hidden_act`, gelu).
    public var projectorActivation: Activation
    /// The token id that marks image positions in llava-hf checkpoints (`image_token_index`).
    public var imageTokenIndex: Int
    /// The projector's linears carry biases (`multimodal_projector_bias`, true by default).
    public var projectorBias: Bool = true
    /// LLaVA-NeXT's tiling (nil: one square image, LLaVA-1.5).
    public var anyres: AnyResConfig?

    public init(text: LlamaConfig, vision: CLIPVisionConfig, visionFeatureLayers: [Int] = [-2], featureSelect: FeatureSelect = .default,
                projectorActivation: Activation = .gelu, imageTokenIndex: Int = 32000) {
        self.text = text
        self.vision = vision
        self.visionFeatureLayers = visionFeatureLayers
        self.featureSelect = featureSelect
        self.projectorActivation = projectorActivation
        self.imageTokenIndex = imageTokenIndex
    }

    /// Image feature tokens per tile (per image for LLaVA-1.5).
    public var imageFeatureCount: Int {
        vision.positionCount - (featureSelect == .default ? 1 : 0)
    }

    /// The tiling of an image of `size` (nil without anyres).
    public func anyresLayout(for size: ImageSize) -> AnyResLayout? {
        anyres.map { AnyResLayout(image: size, config: $0, tile: vision.imageSize, patch: vision.patchSize) }
    }

    /// The kinds of an image's positions: LLaVA-1.5's fixed run of base features, or NeXT's
    /// packing for an image of `size`.
    public func imageKinds(for size: ImageSize?) -> [ImagePositionKind] {
        if let size, let layout = anyresLayout(for: size) { return layout.kinds }
        return [ImagePositionKind](repeating: .base, count: imageFeatureCount)
    }
}
