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
        let images = prompt.imagePositions.isEmpty ? [] : [PreparedImage(pixelValues: pixelValues, size: prompt.image.imageSize)]
        return try generate(prompt.input, images: images, session: session, maxTokens: maxTokens, sampling: sampling, stopTokens: stopTokens,
                            hook: hook, collectLogits: collectLogits, onToken: onToken)
    }
}
