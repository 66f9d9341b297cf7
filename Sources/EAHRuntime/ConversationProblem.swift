import EAHCheckpoint

/// Why a conversation cannot become a prompt.
public enum ConversationProblem: CheckpointProblem, Equatable {
    /// More images than the model takes in one conversation.
    case tooManyImages(Int)
    /// The prompt does not fit the model's context.
    case promptTooLong(positions: Int, context: Int)
    /// A text message holds the image marker, or ids the model cannot embed.
    case badText(String)
    /// Nothing to answer.
    case noUserMessage

    public var message: String {
        switch self {
        case .tooManyImages(let count): "the conversation holds \(count) images; the model takes one"
        case .promptTooLong(let positions, let context): "the prompt takes \(positions) positions (image features included), the model's context holds \(context)"
        case .badText(let text): text
        case .noUserMessage: "the conversation has no user message to answer"
        }
    }

    public var fix: String? {
        switch self {
        case .tooManyImages: "attach one image per conversation (start a new one for another image)"
        case .promptTooLong: "shorten the conversation or the system prompt"
        case .badText: "send images as image parts, not as the text <image>"
        case .noUserMessage: "end the messages with a user message"
        }
    }

    public var isUsageError: Bool { true }
}
