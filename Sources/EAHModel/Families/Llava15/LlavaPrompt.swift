import EAHCheckpoint

/// Token ids with the image layout and the position ids RoPE rotates by.
///
/// Position ids are kept apart from the KV-cache index (row `i` of the prompt is cache slot
/// `i`): families with multi-section RoPE give image positions other ids. Decoding continues
/// from the last id plus one.
public struct LlavaPrompt: Sendable, Equatable {
    /// One id per position; image positions hold a placeholder id that is never embedded.
    public let tokens: [Int]
    /// The positions that hold image features, with their kinds.
    public let image: ImageLayout
    /// The RoPE position of each token (`0..<tokens.count` unless the family says otherwise).
    public let positionIDs: [Int]

    public init(tokens: [Int], image: ImageLayout, positionIDs: [Int]? = nil) {
        self.tokens = tokens
        self.image = image
        self.positionIDs = positionIDs ?? Array(0..<tokens.count)
    }

    /// A prompt whose image positions (ascending) are all base-image features.
    public init(tokens: [Int], imagePositions: [Int]) {
        var runs: [ImageLayout.Run] = []
        for position in imagePositions {
            if let last = runs.last, last.positions.upperBound == position {
                runs[runs.count - 1].kinds.append(.base)
            } else {
                runs.append(ImageLayout.Run(start: position, kinds: [.base]))
            }
        }
        self.init(tokens: tokens, image: ImageLayout(runs: runs))
    }

    /// Positions of the image's feature tokens, ascending: EAH's image columns.
    public var imagePositions: [Int] { image.positions }

    /// The position id of the first generated token.
    public var nextPositionID: Int { (positionIDs.last ?? -1) + 1 }

    /// The original LLaVA's image index in token id lists.
    public static let imageIndex = -200

    /// Builds a prompt from raw ids: a single `-200` expands to the image's positions;
    /// otherwise a run of exactly that many `imageTokenIndex` ids marks them (llava-hf).
    /// The image's positions follow the family's layout for a picture of `imageSize` (LLaVA-1.5:
    /// `imageFeatureCount` base features; NeXT needs the size). Other ids must lie in `0..<vocabSize`.
    public static func fromRawIDs(_ ids: [Int], config: LlavaConfig, imageSize: ImageSize? = nil) throws(ModelProblem) -> LlavaPrompt {
        if config.anyres != nil, imageSize == nil {
            throw .badInput("anyres models (LLaVA-NeXT, OneVision) lay an image out by its size: give the image (or its size), not only token ids")
        }
        let kinds = config.imageKinds(for: imageSize)
        let featureCount = kinds.count
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
        return LlavaPrompt(tokens: tokens, image: ImageLayout(runs: positions.first.map { [ImageLayout.Run(start: $0, kinds: kinds)] } ?? [],
                                                              imageSize: imageSize))
    }
}
