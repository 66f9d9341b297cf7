import EAHCheckpoint

/// One message of a conversation: a role, its text, and whether an image comes with it.
public struct ChatMessage: Sendable, Equatable {
    public enum Role: String, Sendable {
        case system, user, assistant
    }

    public var role: Role
    public var text: String
    /// The image (rendered as `<image>`) precedes the text, as LLaVA's templates place it.
    public var hasImage: Bool

    public init(role: Role, text: String, hasImage: Bool = false) {
        self.role = role
        self.text = text
        self.hasImage = hasImage
    }
}

extension ConversationTemplate {
    /// Renders a whole conversation, the assistant's turn opened after the last message when
    /// `addGenerationPrompt` (the default).
    ///
    /// A Jinja2 template gets the messages as transformers passes a processor's chat to it
    /// (each content a list of `{"type": "image"}` and `{"type": "text", "text": …}` parts).
    /// `vicuna_v1` follows LLaVA's `SeparatorStyle.TWO` (`" "` after a user turn, `"</s>"` after
    /// an assistant turn, the system text first); `plain` joins the messages with newlines. For
    /// one user message these are exactly `render(prompt:systemPrompt:)`.
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool = true) throws(CheckpointError) -> String {
        switch body {
        case .vicuna:
            var text = (messages.first { $0.role == .system }?.text ?? Self.vicunaSystemPrompt) + " "
            for message in messages where message.role != .system {
                let body = (message.hasImage ? "<image>\n" : "") + message.text
                text += message.role == .user ? "USER: " + body + " " : "ASSISTANT: " + body + "</s>"
            }
            return addGenerationPrompt ? text + "ASSISTANT:" : text
        case .plain:
            return messages.map { ($0.hasImage ? "<image>\n" : "") + $0.text }.joined(separator: "\n")
        case .jinja(let template):
            let list: [TemplateValue] = messages.map { message in
                var parts: [TemplateValue] = message.hasImage ? [.dictionary([("type", .string("image"))])] : []
                parts.append(.dictionary([("type", .string("text")), ("text", .string(message.text))]))
                return .dictionary([("role", .string(message.role.rawValue)), ("content", .list(parts))])
            }
            var variables: [String: TemplateValue] = [
                "messages": .list(list), "add_generation_prompt": .bool(addGenerationPrompt), "tools": .none, "documents": .none,
            ]
            for (key, value) in specialTokens { variables[key] = .string(value) }
            do throws(TemplateProblem) {
                return try template.render(variables)
            } catch {
                throw CheckpointError(path: origin, problem: error)
            }
        }
    }
}
