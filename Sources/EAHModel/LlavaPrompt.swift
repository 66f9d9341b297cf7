import EAHCheckpoint

/// Token ids with the positions that hold image features.
public struct LlavaPrompt: Sendable, Equatable {
    /// One id per position; image positions hold a placeholder id that is never embedded.
    public let tokens: [Int]
    /// Positions of the image's feature tokens, ascending and contiguous.
    public let imagePositions: [Int]

    public init(tokens: [Int], imagePositions: [Int]) {
        self.tokens = tokens
        self.imagePositions = imagePositions
    }

    /// The original LLaVA's image index in token id lists.
    public static let imageIndex = -200

    /// Builds a prompt from raw ids: a single `-200` expands to `featureCount` image positions;
    /// otherwise a run of exactly `featureCount` `imageTokenIndex` ids marks them (llava-hf).
    /// Other ids must lie in `0..<vocabSize`.
    public static func fromRawIDs(_ ids: [Int], config: LlavaConfig) throws(ModelProblem) -> LlavaPrompt {
        let featureCount = config.imageFeatureCount
        let markers = ids.indices.filter { ids[$0] == imageIndex }
        // Original LLaVA and GGUF models have no image token: their index is -200 itself.
        let imageTokens = config.imageTokenIndex == imageIndex ? [] : ids.indices.filter { ids[$0] == config.imageTokenIndex }
        var tokens: [Int] = []
        var positions: [Int] = []
        if markers.count == 1 {
            guard imageTokens.isEmpty else {
                throw .badInput("input ids mix -200 with image_token_index \(config.imageTokenIndex); use one or the other")
            }
            let marker = markers[0]
            tokens = Array(ids[..<marker])
            positions = Array(marker..<(marker + featureCount))
            tokens += [Int](repeating: config.imageTokenIndex, count: featureCount)
            tokens += ids[(marker + 1)...]
        } else if markers.count > 1 {
            throw .badInput("input ids hold \(markers.count) image markers (-200); one image is supported")
        } else {
            guard imageTokens.count == featureCount,
                  let first = imageTokens.first, imageTokens.last! - first + 1 == featureCount else {
                throw .badInput("input ids must hold one -200 or one run of \(featureCount) image_token_index (\(config.imageTokenIndex)) ids, found \(imageTokens.count)")
            }
            tokens = ids
            positions = imageTokens
        }
        let vocab = config.text.vocabSize
        let imageSet = Set(positions)
        for (position, id) in tokens.enumerated() where !imageSet.contains(position) {
            guard (0..<vocab).contains(id) else {
                throw .badInput("token id \(id) at position \(position) is outside the vocabulary (0..<\(vocab))")
            }
        }
        return LlavaPrompt(tokens: tokens, imagePositions: positions)
    }
}
