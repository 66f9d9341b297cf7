import EAHCheckpoint
import EAHFrontEnd
import EAHModel

/// A multi-turn conversation with a model: every turn renders the whole conversation through
/// the model's template, and the KV cache of the turns before is reused (only the new text,
/// and a newly attached image, are computed). One image per conversation.
///
/// Each turn's new prompt positions run as a prefill, so EAH's prefill patches act on them as
/// on a single question; earlier answers stay in the cache as they were decoded.
public final class ChatConversation {
    public let pipeline: ModelPipeline
    public let hook: AttentionHook?
    public let systemPrompt: String?
    public var sampling: SamplingParameters
    public var maxTokens: Int
    /// The turns so far (system prompt not included).
    public private(set) var messages: [ChatMessage] = []
    /// The conversation's image, once attached.
    private var picture: PreparedImage?
    private var imageIsPending = false
    private let session = GenerationSession()

    public init(pipeline: ModelPipeline, hook: AttentionHook?, systemPrompt: String? = nil,
                sampling: SamplingParameters = .greedy, maxTokens: Int = 256) {
        self.pipeline = pipeline
        self.hook = hook
        self.systemPrompt = systemPrompt
        self.sampling = sampling
        self.maxTokens = maxTokens
    }

    /// Whether the conversation has an image (attached or waiting for the next message).
    public var hasImage: Bool { picture != nil }

    /// Whether the model takes images at all (false for a text-only model).
    public var takesImages: Bool { pipeline.model.takesImages }

    /// Prompt positions the last turn took from the cache.
    public var reusedPositions: Int { session.reusedPositions }

    /// Attaches preprocessed pixel values to the next message. A conversation holds one
    /// image: attaching another starts a new conversation (returns true then).
    @discardableResult
    public func attachImage(_ image: PreparedImage) -> Bool {
        let restarted = picture != nil && !messages.isEmpty
        if restarted { reset() }
        picture = image
        imageIsPending = true
        return restarted
    }

    /// Forgets every turn, the image and the cache.
    public func reset() {
        messages = []
        picture = nil
        imageIsPending = false
        session.reset()
    }

    /// Answers `text`, calling `onText` with the answer's text as it is generated; returns the
    /// whole answer. A turn that fails leaves the conversation as it was.
    @discardableResult
    public func send(_ text: String, onText: (String) -> Void = { _ in }) throws(CheckpointError) -> String {
        let turn = messages + [ChatMessage(role: .user, text: text, hasImage: imageIsPending)]
        let system = systemPrompt.map { [ChatMessage(role: .system, text: $0)] } ?? []
        let prompt = try pipeline.prompt(messages: system + turn, images: picture.map { [$0] } ?? [])
        var stream = TextStream(tokenizer: pipeline.tokenizer)
        let stopTokens = pipeline.stopTokens
        let result: GenerationResult
        do throws(ModelProblem) {
            result = try pipeline.model.generate(
                prompt, images: picture.map { [$0] } ?? [], session: session,
                maxTokens: min(maxTokens, pipeline.contextLength - prompt.tokens.count), sampling: sampling,
                stopTokens: stopTokens, hook: hook) { token in
                    if !stopTokens.contains(token) { onText(stream.append(token)) }
                    return true
                }
        } catch {
            throw CheckpointError(path: "conversation", problem: error)
        }
        onText(stream.finish())
        let answer = (try? pipeline.tokenizer.decode(result.tokens.filter { !stopTokens.contains($0) })) ?? ""
        // The template sees the answer as a client would send it back: without surrounding blanks.
        messages = turn + [ChatMessage(role: .assistant, text: answer.trimmingBlanks)]
        imageIsPending = false
        return answer
    }
}

extension String {
    /// The text without leading and trailing spaces, tabs and newlines.
    public var trimmingBlanks: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !blank($0) }), let last = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[first...last])
    }
}
