/// A decoder's state kept between generations (a conversation's turns): the KV cache and what
/// its positions hold, so a prompt that starts as the cached one computes only what follows.
///
/// One generation at a time uses a session; `reset()` forgets everything.
public final class GenerationSession {
    private(set) var cache: KVCache?
    /// The id at each cached position (image positions hold the image placeholder id).
    public private(set) var tokens: [Int] = []
    /// Cached positions that hold image features, and the pixel values (per image) they came from.
    private var imagePositions: [Int] = []
    private var pixelValues: [[Float]] = []
    /// Positions the last generation took from the cache instead of computing them.
    public private(set) var reusedPositions = 0

    public init() {}

    /// Forgets every cached position.
    public func reset() {
        cache?.reset()
        tokens = []
        imagePositions = []
        pixelValues = []
        reusedPositions = 0
    }

    /// The cache for a decoder of this shape (a new one if the shape changed).
    func cache(layerCount: Int, kvWidth: Int, capacity: Int) -> KVCache {
        if let cache, cache.layerCount == layerCount, cache.kvWidth == kvWidth { return cache }
        reset()
        let created = KVCache(layerCount: layerCount, kvWidth: kvWidth, capacity: capacity)
        cache = created
        return created
    }

    /// How many leading positions of `prompt` (with `pixelValues`, one set per image, at its
    /// image positions) the cache holds: never every position (the last one's logits are
    /// needed), never part of an image, and an image only when its pixel values are the cached ones.
    func reusablePrefix(of prompt: ModelInput, pixelValues: [[Float]]) -> Int {
        var length = 0
        let limit = min(tokens.count, prompt.tokens.count - 1)
        while length < limit, tokens[length] == prompt.tokens[length] { length += 1 }
        let sameImage = prompt.imagePositions == imagePositions && (imagePositions.isEmpty || pixelValues == self.pixelValues)
        if !sameImage {
            length = min(length, prompt.imagePositions.first ?? length, imagePositions.first ?? length)
        }
        for run in prompt.image.runs where length > run.start && length < run.positions.upperBound {
            length = run.start
        }
        return length
    }

    /// Records what the cache holds after a generation.
    func record(tokens: [Int], imagePositions: [Int], pixelValues: [[Float]], reused: Int) {
        self.tokens = tokens
        self.imagePositions = imagePositions
        self.pixelValues = imagePositions.isEmpty ? [] : pixelValues
        reusedPositions = reused
    }
}
