import EAHCheckpoint
import EAHRuntime
import EAHCore

/// The terminal side of `eah-run --chat`: reads lines from standard input, streams answers to
/// standard output. `/image PATH` attaches an image to the next message, `/reset` starts over,
/// `/quit` (or end of input) ends. Prompts and notices go to standard error, and only on a
/// terminal, so piped output is the answers alone.
public struct ChatTerminal {
    public let conversation: ChatConversation

    public init(conversation: ChatConversation) {
        self.conversation = conversation
    }

    /// What one input line asks for.
    enum Command: Equatable {
        case message(String)
        case image(String)
        case reset
        case quit
        case help
        case unknown(String)
        case empty
    }

    static func command(_ line: String) -> Command {
        let trimmed = line.trimmingBlanks
        guard trimmed.hasPrefix("/") else { return trimmed.isEmpty ? .empty : .message(line) }
        let word = trimmed.prefix { $0 != " " }, rest = String(trimmed.dropFirst(word.count)).trimmingBlanks
        switch word {
        case "/image": return .image(rest)
        case "/reset": return .reset
        case "/quit", "/exit": return .quit
        case "/help", "/?": return .help
        default: return .unknown(String(word))
        }
    }

    static let help = "Type a message and press Enter. /image PATH attaches an image to the next message, /reset starts over, /quit ends.\n"
    static let textOnlyHelp = "Type a message and press Enter. /reset starts over, /quit ends. (A text-only model: no /image.)\n"
    /// The answer to `/image` for a model without a vision tower.
    static let textOnly = "/image: this model has no vision tower, so it takes no image; chat in text, or start eah-run --chat with a vision-language model (or a GGUF with its --mmproj)\n"

    /// Runs until `/quit` or the end of input. A bad image or a failed turn is reported and the
    /// conversation goes on.
    public func run() {
        let interactive = isatty(STDIN_FILENO) != 0
        func notice(_ text: String) { if interactive { StandardStream.error.write(text) } }
        let takesImages = conversation.takesImages
        notice(takesImages ? Self.help : Self.textOnlyHelp)
        while true {
            let waitingForImage = takesImages && !conversation.hasImage && conversation.messages.isEmpty
            notice(waitingForImage ? "(no image yet) > " : "> ")
            guard let line = readLine(strippingNewline: true) else { break }
            switch Self.command(line) {
            case .empty: continue
            case .quit: return
            case .help: StandardStream.error.write(takesImages ? Self.help : Self.textOnlyHelp)
            case .unknown(let word): StandardStream.error.write("unknown command \(TerminalText.escape(word)); /help lists them\n")
            case .reset:
                conversation.reset()
                notice("(new conversation)\n")
            case .image where !takesImages:
                StandardStream.error.write(Self.textOnly)
            case .image(let path):
                do {
                    if conversation.attachImage(try conversation.pipeline.image(path: path)) {
                        notice("(one image per conversation: a new conversation starts with this image)\n")
                    }
                    notice("(image attached to your next message)\n")
                } catch {
                    StandardStream.error.write("\(error)\n")
                }
            case .message(let text):
                do {
                    try conversation.send(text) { StandardStream.output.write($0) }
                    StandardStream.output.write("\n")
                } catch {
                    StandardStream.error.write("\(error)\n")
                }
            }
        }
    }
}

/// Standard input read to its end, for `--prompt -` and `--image -`.
public enum StandardInput {
    public static func readAll() -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return bytes
    }
}
