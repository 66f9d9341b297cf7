import EAHCore

/// The LLaMA decoder on its own: token ids in, logits out, with a KV cache. Used for
/// text-only runs and the decoder benchmarks.
public final class LlamaTextModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let weights: LlamaWeights
    private let decoder: TransformerDecoder
    private let cache: KVCache

    public init(config: LlamaConfig, weights: LlamaWeights, pool: ThreadPool = .shared) {
        self.config = config
        self.weights = weights
        decoder = TransformerDecoder(spec: config.spec, weights: weights, pool: pool)
        cache = KVCache(layerCount: config.layerCount, kvWidth: config.kvHeadCount * config.headDim, capacity: 256)
    }

    /// Positions in the cache.
    public var position: Int { cache.count }

    /// Forgets the cache.
    public func reset() { cache.reset() }

    /// Runs `tokens` (ids in `0..<vocabSize`) after the cached positions and returns the
    /// logits of the last one.
    public func forward(_ tokens: [Int], hook: AttentionHook? = nil) -> [Float] {
        let hidden = config.hiddenSize
        var embeddings = [Float](repeating: 0, count: tokens.count * hidden)
        embeddings.withUnsafeMutableBufferPointer { output in
            for (row, token) in tokens.enumerated() {
                try? weights.embedTokens.dequantizeRow(token, into: UnsafeMutableBufferPointer(rebasing: output[(row * hidden)..<((row + 1) * hidden)]))
            }
        }
        let states = decoder.forward(embeddings, count: tokens.count, positionIDs: Array(cache.count..<(cache.count + tokens.count)),
                                     cache: cache, hook: hook, imagePositions: [])
        return states.withUnsafeBufferPointer { decoder.logits($0.baseAddress! + (tokens.count - 1) * hidden, rows: 1) }
    }

    /// Runs `embeddings` (`count × hidden`, a whole prompt) through layers `0...lastLayer` only,
    /// for `hook` to observe (calibration at a model's shallow layers, as `LlavaModel` does).
    public func observePrefill(embeddings: [Float], imagePositions: [Int], hook: AttentionHook, throughLayer lastLayer: Int) {
        let count = embeddings.count / config.hiddenSize
        let layers = min(lastLayer + 1, config.layerCount)
        let scratch = KVCache(layerCount: layers, kvWidth: config.kvHeadCount * config.headDim, capacity: count)
        _ = decoder.forward(embeddings, count: count, positionIDs: Array(0..<count), cache: scratch, hook: hook,
                            imagePositions: imagePositions, layerLimit: layers)
    }
}
