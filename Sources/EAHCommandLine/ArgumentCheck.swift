import ArgumentParser
import EAHCheckpoint
import EAHCore

/// The first look at a command line, before any parsing or validation: a mistyped subcommand
/// or option is named with the nearest valid one, an option given twice is refused, and
/// `help` names only real subcommands. Later checks (what goes together, file contents) would
/// otherwise hide a typo behind a message about something else.
///
/// The commands' names and options come from ArgumentParser's own description of the tool
/// (`_dumpHelp()`), so the check knows exactly what the parser accepts.
public struct ArgumentCheck {
    /// One option or flag of a command.
    struct Option {
        /// Every spelling, with its dashes: `--max-tokens`, `-n`.
        let names: [String]
        let takesValue: Bool
        let repeats: Bool
        /// Values up to the next option (`--merge A B C`).
        let takesValues: Bool
    }

    /// One command: its options and subcommands.
    struct Command {
        let name: String
        let options: [Option]
        let subcommands: [Command]
        let defaultSubcommand: String?
    }

    let tool: String
    let root: Command

    /// The check for the tool `Root` describes.
    public init<Root: ParsableCommand>(_ root: Root.Type, toolName: String) {
        tool = toolName
        let description = (try? JSONParser.parse(Root._dumpHelp())) ?? .null
        self.root = Self.command(description["command"] ?? .null)
    }

    /// The problem with `arguments` (without the program name), or nil when every subcommand
    /// and option name is known and no single-valued option is repeated.
    public func problem(_ arguments: [String]) -> String? {
        var command = root
        var rest = arguments[...]
        var path = [tool]
        if let first = rest.first, !root.subcommands.isEmpty {
            if first == "help" {
                var target = root
                for word in rest.dropFirst() where !word.hasPrefix("-") {
                    guard let next = target.subcommands.first(where: { $0.name == word }) else {
                        return unknownSubcommand(word, of: target)
                    }
                    target = next
                }
                return nil
            }
            if let sub = root.subcommands.first(where: { $0.name == first }) {
                command = sub
                path.append(first)
                rest = rest.dropFirst()
            } else {
                if !first.hasPrefix("-"), looksLikeCommandName(first) { return unknownSubcommand(first, of: root) }
                if let name = root.defaultSubcommand, let sub = root.subcommands.first(where: { $0.name == name }) { command = sub }
            }
        }
        var seen: [String: String] = [:]
        var index = rest.startIndex
        while index < rest.endIndex {
            let word = rest[index]
            index += 1
            if word == "--" { break }
            guard word.hasPrefix("-"), word != "-", !Self.isNumber(word) else { continue }
            let name = word.hasPrefix("--") ? String(word.prefix { $0 != "=" }) : word
            var matched = command.options.first { $0.names.contains(name) }
            if matched == nil, !word.hasPrefix("--"), word.count > 2 {
                // Grouped short flags (-qf) or a short option with its value attached (-n64).
                let first = "-" + String(word.dropFirst().prefix(1))
                if let option = command.options.first(where: { $0.names.contains(first) }) {
                    matched = option
                    if option.takesValue { continue }
                }
            }
            guard let option = matched else { return unknownOption(name, in: command, path: path) }
            let key = option.names[0]
            if !option.repeats, let earlier = seen[key] {
                let also = earlier == name ? "" : " (also as \(TerminalText.escape(earlier)))"
                return "\(TerminalText.escape(name)) is given twice\(also); give it once"
            }
            seen[key] = name
            guard option.takesValue, !word.contains("=") || !word.hasPrefix("--") else { continue }
            if option.takesValues {
                while index < rest.endIndex, !rest[index].hasPrefix("-") || rest[index] == "-" { index += 1 }
            } else if index < rest.endIndex {
                index += 1
            }
        }
        return nil
    }

    /// Whether an unmatched first word is meant as a subcommand rather than a model path: a
    /// bare word (no `/` or `.`) that names no file, close to a subcommand's name.
    private func looksLikeCommandName(_ word: String) -> Bool {
        guard !word.contains("/"), !word.contains("."), access(word, F_OK) != 0 else { return false }
        return Self.nearest(to: word, among: root.subcommands.map(\.name)) != nil
    }

    private func unknownSubcommand(_ word: String, of command: Command) -> String {
        let names = command.subcommands.map(\.name)
        let hint = Self.nearest(to: word, among: names).map { "did you mean '\($0)'? " } ?? ""
        return "unknown subcommand '\(TerminalText.escape(word))'; \(hint)the subcommands are \(names.joined(separator: ", "))"
    }

    private func unknownOption(_ name: String, in command: Command, path: [String]) -> String {
        let all = command.options.flatMap(\.names)
        let hint = Self.nearest(to: name, among: all).map { "did you mean \($0)? " } ?? ""
        return "unknown option \(TerminalText.escape(name)); \(hint)'\(path.joined(separator: " ")) --help' lists the options"
    }

    /// The candidate closest to `word` in edit distance, when it is close enough to be a typo
    /// (at most a third of the word's length, at least 1, at most 3 edits).
    static func nearest(to word: String, among candidates: [String]) -> String? {
        let budget = min(3, max(1, word.count / 3))
        var best: (name: String, distance: Int)?
        for candidate in candidates {
            let distance = editDistance(word, candidate)
            if distance <= budget, distance < (best?.distance ?? .max) { best = (candidate, distance) }
        }
        return best?.name
    }

    /// Levenshtein distance (insertions, deletions, substitutions; a swap of neighbours counts one).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var value = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { value = min(value, table[i - 2][j - 2] + 1) }
                table[i][j] = value
            }
        }
        return table[a.count][b.count]
    }

    static func isNumber(_ word: String) -> Bool {
        Double(word) != nil
    }

    static func command(_ json: JSONValue) -> Command {
        var options: [Option] = []
        if case .array(let arguments)? = json["arguments"] {
            for argument in arguments {
                guard case .string(let kind)? = argument["kind"], kind != "positional" else { continue }
                var names: [String] = []
                if case .array(let list)? = argument["names"] {
                    for name in list {
                        guard case .string(let nameKind)? = name["kind"], case .string(let text)? = name["name"] else { continue }
                        names.append((nameKind == "long" ? "--" : "-") + text)
                    }
                }
                guard !names.isEmpty else { continue }
                let strategy: String
                if case .string(let text)? = argument["parsingStrategy"] { strategy = text } else { strategy = "default" }
                let repeats = argument["isRepeating"] == .bool(true)
                options.append(Option(names: names, takesValue: kind == "option", repeats: repeats,
                                      takesValues: strategy == "upToNextOption"))
            }
        }
        var subcommands: [Command] = []
        if case .array(let list)? = json["subcommands"] { subcommands = list.map(command) }
        var name = "", defaultSubcommand: String?
        if case .string(let text)? = json["commandName"] { name = text }
        if case .string(let text)? = json["defaultSubcommand"] { defaultSubcommand = text }
        return Command(name: name, options: options, subcommands: subcommands, defaultSubcommand: defaultSubcommand)
    }
}
