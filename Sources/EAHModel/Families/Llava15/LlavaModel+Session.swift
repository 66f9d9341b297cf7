extension LlavaModel {
    /// Generates an answer to `prompt` in `session`: the positions the session's cache already
    /// holds (the same tokens, the same image) are reused, the rest of the prompt runs as a
    /// prefill (the phase EAH's prefill patches act on), then up to `maxTokens` tokens decode.
    ///
    /// Stops after a token in `stopTokens`, or when `onToken` returns false. With
    /// `collectLogits`, the result holds the logits of every computed prompt row and step.
    public func generate(
        prompt: LlavaPrompt, pixelValues: [Float], session: GenerationSession, maxTokens: Int,
        sampling: SamplingParameters = .greedy, stopTokens: Set<Int> = [], hook: AttentionHook? = nil,
        collectLogits: Bool = false, onToken: (Int) -> Bool
    ) throws(ModelProblem) -> GenerationResult {
        let text = config.text, hidden = text.hiddenSize, vocab = text.vocabSize
        guard !prompt.tokens.isEmpty else { throw .badInput("the prompt is empty") }
        let cache = session.cache(layerCount: text.layerCount, kvWidth: text.kvHeadCount * text.headDim, capacity: prompt.tokens.count + maxTokens)
        let reused = session.reusablePrefix(of: prompt, pixelValues: pixelValues)
        cache.truncate(to: reused)
        session.record(tokens: Array(prompt.tokens[..<reused]), imagePositions: prompt.imagePositions.filter { $0 < reused },
                       pixelValues: pixelValues, reused: reused)
        // Only the new positions are embedded; an image before `reused` is in the cache already.
        let rest = LlavaPrompt(tokens: Array(prompt.tokens[reused...]), image: prompt.image.suffix(from: reused),
                               positionIDs: Array(prompt.positionIDs[reused...]))
        let embeddings = try promptEmbeddings(rest, pixelValues: pixelValues)
        let count = rest.tokens.count
        let promptHidden = decoder.forward(embeddings, count: count, positionIDs: rest.positionIDs, cache: cache, hook: hook,
                                           imagePositions: prompt.imagePositions, imageKinds: prompt.image.kinds, phase: .prefill)
        var collected: [Float] = []
        var last: [Float]
        if collectLogits {
            collected = promptHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress!, rows: count) }
            last = Array(collected[(collected.count - vocab)...])
        } else {
            last = promptHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress! + (count - 1) * hidden, rows: 1) }
        }
        var sampler = TokenSampler(sampling)
        var tokens: [Int] = []
        var cached = prompt.tokens
        defer { session.record(tokens: cached, imagePositions: prompt.imagePositions, pixelValues: pixelValues, reused: reused) }
        while tokens.count < maxTokens {
            let token = last.withUnsafeBufferPointer { sampler.next($0) }
            tokens.append(token)
            let wantsMore = onToken(token)
            if !wantsMore || stopTokens.contains(token) || tokens.count == maxTokens { break }
            var embedding = [Float](repeating: 0, count: hidden)
            embedding.withUnsafeMutableBufferPointer { embed(token, into: $0) }
            let stepHidden = decoder.forward(embedding, count: 1, positionIDs: [prompt.nextPositionID + tokens.count - 1], cache: cache,
                                             hook: hook, imagePositions: prompt.imagePositions, imageKinds: prompt.image.kinds, phase: .decode)
            cached.append(token)
            last = stepHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress!, rows: 1) }
            if collectLogits { collected += last }
        }
        return GenerationResult(tokens: tokens, promptLength: prompt.tokens.count, logits: collectLogits ? collected : nil)
    }
}
