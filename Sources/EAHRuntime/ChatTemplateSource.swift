import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHCore

/// A chat template and the tokenizer beside it, from what `eah-convert template` accepts: a
/// `.jinja` file, a model folder, a GGUF, or an EAH bundle.
///
/// - `.jinja`: the file's template, with no special tokens (the context gives them) and no
///   tokenizer;
/// - model folder: the template `ConversationTemplate.resolve` finds (processor, tokenizer
///   config, or what `config.json` implies) with `tokenizer_config.json`'s special tokens, and
///   `tokenizer.json` or `tokenizer.model`;
/// - GGUF: its `tokenizer.chat_template` and the special tokens its ids name, else what its
///   folder holds; its own tokenizer;
/// - bundle: its GGUF model or its folder, as above.
/// `templateName` (`--template`) picks a built-in template, a named one of the model, or a
/// `.jinja` file instead of the model's own, as `eah-run` does.
public struct ChatTemplateSource {
    public let template: ConversationTemplate
    /// The file the tokenizer is read from, if the source has one.
    public let tokenizerPath: String?

    public init(path: String, templateName: String? = nil) throws(CheckpointError) {
        if path.hasSuffix(".jinja"), !Self.isDirectory(path) {
            if let templateName {
                throw CheckpointError(path: templateName, problem: TemplateProblem.templateNameWithJinjaSource)
            }
            let file = try MappedFile(path: path)
            guard JSONParser.firstInvalidUTF8(file.bytes) == nil else {
                throw CheckpointError(path: path, problem: TemplateProblem.syntax("the file is not UTF-8", line: 1))
            }
            let source = withExtendedLifetime(file) { String(decoding: file.bytes, as: UTF8.self) }
            template = try ConversationTemplate(jinja: source, name: path, origin: path, specialTokens: [:])
            tokenizerPath = nil
            return
        }
        var model = path
        if EAHBundle.isBundle(path) { model = try EAHBundle(path: path, verify: false).modelPath }
        if Self.isDirectory(model) {
            template = try ConversationTemplate.resolve(modelDirectory: model, explicitName: templateName)
            tokenizerPath = TokenizerFile.path(inFolder: model)
            return
        }
        let reader = try GGUFReader(path: model)
        if templateName == nil, let own = try ConversationTemplate.fromGGUF(path: model, metadata: reader.metadata) {
            template = own
        } else {
            template = try ConversationTemplate.resolve(modelDirectory: ModelFiles.folder(of: model), explicitName: templateName)
        }
        tokenizerPath = model
    }

    private static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    /// The source's tokenizer, if it has one.
    public func tokenizer() throws(CheckpointError) -> (any Tokenizer)? {
        try tokenizerPath.map { path throws(CheckpointError) in try TokenizerFile.load(path: path) }
    }
}
