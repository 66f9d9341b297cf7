import EAHCheckpoint
import EAHFrontEnd
import EAHModel

extension LlavaPipeline {
    /// Positions the model attends over (`max_position_embeddings`).
    public var contextLength: Int { config.text.maxPositionEmbeddings }

    /// The prompt for a conversation (at most one image, of `imageSize` where the family's
    /// layout depends on it): rendered through the template, tokenized, image positions marked,
    /// checked against the context with room for one token.
    public func prompt(messages: [ChatMessage], imageSize: ImageSize? = nil) throws(CheckpointError) -> LlavaPrompt {
        let images = messages.filter(\.hasImage).count
        guard images <= 1 else { throw CheckpointError(path: "conversation", problem: ConversationProblem.tooManyImages(images)) }
        guard messages.last?.role == .user else { throw CheckpointError(path: "conversation", problem: ConversationProblem.noUserMessage) }
        let ids = encode(try template.render(messages: messages))
        let prompt: LlavaPrompt
        do throws(ModelProblem) {
            if images == 1 {
                prompt = try LlavaPrompt.fromRawIDs(ids, config: config, imageSize: imageSize)
            } else {
                guard !ids.contains(LlavaPrompt.imageIndex), !ids.contains(config.imageTokenIndex) else {
                    throw ModelProblem.badInput("a message holds the image marker <image> but no image is attached")
                }
                guard ids.allSatisfy({ (0..<config.text.vocabSize).contains($0) }) else {
                    throw ModelProblem.badInput("the tokenizer gave ids outside the model's vocabulary (\(config.text.vocabSize))")
                }
                prompt = LlavaPrompt(tokens: ids, imagePositions: [])
            }
        } catch {
            throw CheckpointError(path: "conversation", problem: ConversationProblem.badText(error.message))
        }
        guard prompt.tokens.count < contextLength else {
            throw CheckpointError(path: "conversation", problem: ConversationProblem.promptTooLong(positions: prompt.tokens.count, context: contextLength))
        }
        return prompt
    }

    /// An encoded JPEG or PNG (`origin` names it in errors) decoded and preprocessed for the
    /// vision tower; `maximumPixelCount` bounds the decoded size.
    public func image(bytes: [UInt8], origin: String,
                      maximumPixelCount: Int = ImageDecoder.defaultMaximumPixelCount) throws(CheckpointError) -> PreparedImage {
        let image: RGBImage
        do throws(ImageProblem) {
            image = try ImageDecoder(maximumPixelCount: maximumPixelCount).decode(bytes)
        } catch {
            throw CheckpointError(path: origin, problem: error)
        }
        return PreparedImage(pixelValues: pixelValues(of: image), size: ImageSize(height: image.height, width: image.width))
    }

    /// The image at `path`, decoded and preprocessed for the vision tower.
    public func image(path: String) throws(CheckpointError) -> PreparedImage {
        let image = try decode(image: path)
        return PreparedImage(pixelValues: pixelValues(of: image), size: ImageSize(height: image.height, width: image.width))
    }
}

/// An image ready for the model: its pixel values and the size it had, which families whose
/// layout depends on the picture (NeXT) need to lay out the prompt.
public struct PreparedImage: Sendable {
    public let pixelValues: [Float]
    public let size: ImageSize
}
