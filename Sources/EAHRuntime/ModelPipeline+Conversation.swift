import EAHCheckpoint
import EAHFrontEnd
import EAHModel

extension ModelPipeline {
    /// Positions the model attends over (`max_position_embeddings`).
    public var contextLength: Int { shape.contextLength }

    /// The prompt for a conversation with `images` attached (at most one): rendered through the
    /// template, tokenized, laid out by the family, checked against the context with room for
    /// one token.
    public func prompt(messages: [ChatMessage], images: [PreparedImage] = []) throws(CheckpointError) -> ModelInput {
        let marked = messages.filter(\.hasImage).count
        guard marked <= 1 else { throw CheckpointError(path: "conversation", problem: ConversationProblem.tooManyImages(marked)) }
        guard messages.last?.role == .user else { throw CheckpointError(path: "conversation", problem: ConversationProblem.noUserMessage) }
        let ids = processor.encode(try template.render(messages: messages), addBOS: true)
        let prompt: ModelInput
        do throws(ModelProblem) {
            prompt = try model.prepare(ids: ids, images: marked == 1 ? images : [])
        } catch {
            throw CheckpointError(path: "conversation", problem: ConversationProblem.badText(error.message))
        }
        guard prompt.tokens.count < contextLength else {
            throw CheckpointError(path: "conversation", problem: ConversationProblem.promptTooLong(positions: prompt.tokens.count, context: contextLength))
        }
        return prompt
    }

    /// An encoded JPEG or PNG (`origin` names it in errors) decoded and preprocessed by the
    /// family; `maximumPixelCount` bounds the decoded size.
    public func image(bytes: [UInt8], origin: String,
                      maximumPixelCount: Int = ImageDecoder.defaultMaximumPixelCount) throws(CheckpointError) -> PreparedImage {
        try checkTakesImages(origin: origin)
        let image: RGBImage
        do throws(ImageProblem) {
            image = try ImageDecoder(maximumPixelCount: maximumPixelCount).decode(bytes)
        } catch {
            throw CheckpointError(path: origin, problem: error)
        }
        return try processor.prepare(image, origin: origin)
    }
}
