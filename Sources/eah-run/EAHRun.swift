import ArgumentParser
import EAH
import EAHCheckpoint
import EAHCommandLine
import EAHCore
import EAHFrontEnd
import EAHModel
import EAHRuntime


/// `eah-run`: answer a question about an image with a LLaVA model, hold a chat with it, serve it
/// over the OpenAI API, or run it on raw token ids and pixel values.
///
/// Exit status: 0 on success, 1 for bad input (a malformed or mismatched file), 2 for bad
/// usage.
@main
struct EAHRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eah-run",
        abstract: "Run a vision-language model (LLaVA-1.5/NeXT/OneVision, Qwen2-VL/2.5-VL: transformers folders, original LLaVA, or llama.cpp GGUF + mmproj).",
        discussion: """
            Either --image IMG --prompt TEXT (the answer streams as it is generated; - reads \
            either from standard input), --chat (a conversation on the terminal), --serve (the \
            OpenAI chat-completions API over HTTP), or the raw entry point --input-ids IDS \
            --pixel-values PV.safetensors. Without --image (--pixel-values) the prompt runs as \
            text alone: a text-only model (LLaMA, Mistral, Qwen2 folder, or a llama.cpp text GGUF \
            without --mmproj) always does; EAH needs an image.
            """,
        version: EAHVersion.current
    )

    @Argument(help: "An EAH bundle, a model folder, checkpoint file, index file, or text-model GGUF.")
    var modelArgument: String?

    @Option(name: [.customShort("m"), .customLong("model")], help: "The model, as llama.cpp's -m (instead of the argument).")
    var modelOption: String?

    /// The model to run, from the argument or -m.
    var model: String { modelOption ?? modelArgument ?? "" }

    @OptionGroup var eah: EAHRunOptions

    @OptionGroup var source: ModelSourceOptions

    @Option(help: "A JPEG or PNG image to ask about (- reads it from standard input).")
    var image: String?

    @Option(name: .shortAndLong, help: "The question about the image, or the text prompt without --image (- reads it from standard input).")
    var prompt: String?

    @Flag(help: "Hold a conversation on the terminal (/image PATH, /reset, /quit); --image attaches the first image.")
    var chat = false

    @Flag(help: "Serve the OpenAI chat-completions API: POST /v1/chat/completions, GET /v1/models, GET /health.")
    var serve = false

    @OptionGroup(title: "Server options (--serve)") var server: ServeOptions

    @Option(help: "A system prompt, where the conversation template has one.")
    var systemPrompt: String?

    @Option(help: "Comma-separated token ids; a single -200 stands for the image's feature tokens.")
    var inputIds: String?

    @Option(help: "A safetensors file holding the F32 tensor pixel_values [1, 3, H, W].")
    var pixelValues: String?

    @Option(help: "Write the F32 tensor logits [positions, vocab] to this safetensors file.")
    var logitsOut: String?

    @Option(name: [.customShort("n"), .long], help: "Tokens to generate (0: prefill only).")
    var maxTokens = 256

    @OptionGroup(title: "Sampling") var sampler: SamplingOptions

    @Option(help: "The context size: the prompt and the answer must fit in it (default: the model's).")
    var ctxSize: Int?

    @OptionGroup var display: OutputOptions

    @Flag(help: "Overwrite --logits-out if it exists.")
    var force = false

    @Flag(help: "Print one JSON document ({\"schema\": 1, ...}) instead of streaming.")
    var json = false

    @Flag(help: "Print the rendered prompt and its token ids (image runs as <image × N>; with --input-ids, the ids) to stderr before answering.")
    var verbosePrompt = false

    func validate() throws {
        if modelArgument != nil, modelOption != nil { throw ValidationError("give the model once: as the argument or with -m") }
        if modelArgument == nil, modelOption == nil { throw ValidationError("give the model to run (the argument or -m MODEL)") }
        if let ctxSize, ctxSize < 1 { throw ValidationError("--ctx-size must be at least 1") }
        if let prompt, prompt.contains("<image>") {
            throw ValidationError("--prompt contains <image>: the conversation template inserts the image; remove <image> from the prompt")
        }
        if !serve, server.given { throw ValidationError("--host, --port, --queue-size, --max-request-mib and --max-image-mib apply to --serve only") }
        try source.check(model: model)
        if !serve { try sampler.refuseUnused() }
        if chat || serve { return try validateSession() }
        let frontEnd = image != nil || prompt != nil, raw = inputIds != nil || pixelValues != nil
        guard frontEnd != raw else {
            throw ValidationError("give either --image and --prompt, --chat, --serve, or --input-ids and --pixel-values")
        }
        if image == "-", prompt == "-" { throw ValidationError("--image - and --prompt - cannot both read standard input") }
        if image != nil, prompt == nil { throw ValidationError("--image and --prompt go together") }
        if pixelValues != nil, inputIds == nil { throw ValidationError("--pixel-values needs --input-ids") }
        if raw, source.template != nil || source.imageMode != nil || systemPrompt != nil {
            throw ValidationError("--template, --image-mode and --system-prompt apply to --image/--prompt only")
        }
        if force, logitsOut == nil { throw ValidationError("--force applies to --logits-out only") }
        if maxTokens < 0 { throw ValidationError("--max-tokens must be 0 or more") }
    }

    func run() throws {
        display.apply()
        self.source.applyThreads()
        let source = try eah.modelSource(path: model, options: self.source)
        if !chat, !serve, image == nil, pixelValues == nil, source.hook != nil || (source.bundle != nil && !eah.noEah) {
            throw ValidationError("EAH needs an image: add --image (or --pixel-values), or drop --eah-layer (with a bundle, pass --no-eah) to run the text alone")
        }
        if chat {
            try runChat(source)
        } else if serve {
            try runServe(source)
        } else if let inputIds {
            try runRaw(source, ids: try Self.parseIDs(inputIds), pixelPath: pixelValues)
        } else if let prompt {
            try runQuestion(source, image: image, question: prompt)
        }
    }

    /// The raw entry point: ids and pixel values as given (ids alone: a text-only prompt).
    private func runRaw(_ source: ModelSource, ids: [Int], pixelPath: String?) throws {
        var timings = RunTimings()
        let loaded = try source.load()
        timings.markLoaded()
        try source.validate(against: loaded.shape)
        let images = try pixelPath.map { [try loaded.readPixelValues($0)] } ?? []
        let prompt: ModelInput
        do throws(ModelProblem) {
            prompt = try loaded.prepare(ids: ids, images: images)
        } catch {
            throw CheckpointError(path: model, problem: error)
        }
        if verbosePrompt { StandardStream.error.write(Self.describe(prompt, text: nil)) }
        _ = try ContextWindow.tokensAfter(prompt, requested: 0, shape: loaded.shape, source: "--input-ids")
        timings.markGenerationStart()
        let result = try generate(loaded, prompt: prompt, images: images, stopTokens: Set(loaded.eosTokenIDs), hook: source.hook) { token in
            timings.markToken()
            if !json { StandardStream.output.write("\(token) ") }
        }
        if json {
            print(JSONValue.object([("schema", .integer(1)), ("sampling", sampler.json), ("tokens", .array(result.tokens.map(JSONValue.integer))),
                                    ("timings", timings.json(promptTokens: result.promptLength))]).serialized)
        } else {
            print()
        }
    }

    /// The front-end entry point: the answer to a question about an image (or to the text alone,
    /// without one), streamed as text.
    private func runQuestion(_ source: ModelSource, image: String?, question: String) throws {
        var timings = RunTimings()
        let pipeline = try self.source.pipeline(source)
        timings.markLoaded()
        try source.validate(against: pipeline.shape)
        let questionText = question == "-" ? Self.standardInputText() : question
        if questionText.contains("<image>") {
            throw ValidationError("the prompt on standard input contains <image>: the conversation template inserts the image; remove <image> from the prompt")
        }
        var pictures: [PreparedImage] = []
        if let image {
            pictures.append(image == "-" ? try pipeline.image(bytes: StandardInput.readAll(), origin: "standard input") : try pipeline.image(path: image))
        }
        let prompt = try pipeline.prompt(question: questionText, systemPrompt: systemPrompt, images: pictures, imagePath: image ?? "image")
        if verbosePrompt {
            let text = try pipeline.template.render(prompt: questionText, systemPrompt: systemPrompt, hasImage: !pictures.isEmpty)
            StandardStream.error.write(Self.describe(prompt, text: text))
        }
        var stream = TextStream(tokenizer: pipeline.tokenizer)
        timings.markGenerationStart()
        let result = try generate(pipeline.model, prompt: prompt, images: pictures, stopTokens: pipeline.stopTokens, hook: source.hook) { token in
            timings.markToken()
            if !json { StandardStream.output.write(stream.append(token)) }
        }
        let answerIDs = result.tokens.filter { !pipeline.stopTokens.contains($0) }
        let text = (try? pipeline.tokenizer.decode(answerIDs)) ?? ""
        if json {
            print(JSONValue.object([
                ("schema", .integer(1)), ("sampling", sampler.json), ("prompt_tokens", .integer(result.promptLength)),
                ("tokens", .array(result.tokens.map(JSONValue.integer))), ("text", .string(text)),
                ("timings", timings.json(promptTokens: result.promptLength)),
            ]).serialized)
        } else {
            StandardStream.output.write(stream.finish() + "\n")
        }
    }

    private func generate(_ loaded: any VisionLanguageModel, prompt: ModelInput, images: [PreparedImage], stopTokens: Set<Int>,
                          hook: EAHAttentionHook?, onToken: (Int) -> Void) throws -> GenerationResult {
        let room = try ContextWindow.tokensAfter(prompt, requested: maxTokens, shape: loaded.shape, source: "prompt", contextSize: ctxSize)
        let result: GenerationResult
        do throws(ModelProblem) {
            result = try loaded.generate(
                prompt, images: images, maxTokens: room,
                sampling: sampling,
                stopTokens: stopTokens, hook: hook, collectLogits: logitsOut != nil, onToken: onToken)
        } catch {
            throw CheckpointError(path: model, problem: error)
        }
        if let logitsOut, let logits = result.logits {
            let vocab = loaded.shape.vocabSize
            let writer = try SafetensorsWriter(path: logitsOut, overwrite: force,
                                               tensors: [TensorPlan(name: "logits", dtype: .f32, shape: [logits.count / vocab, vocab])])
            try logits.withUnsafeBytes { try writer.write($0) }
            try writer.finish()
        }
        return result
    }

    /// The `--verbose-prompt` report: the rendered text, if there is one (control characters
    /// other than newlines escaped), and the ids, each run of image positions as `<image × N>`.
    static func describe(_ prompt: ModelInput, text: String?) -> String {
        var ids: [String] = []
        let image = Set(prompt.imagePositions)
        var run = 0
        for (position, id) in prompt.tokens.enumerated() {
            if image.contains(position) {
                run += 1
                continue
            }
            if run > 0 { ids.append("<image × \(run)>"); run = 0 }
            ids.append(String(id))
        }
        if run > 0 { ids.append("<image × \(run)>") }
        var report = "eah-run: prompt (\(prompt.tokens.count) tokens)"
        if let text {
            report += ":\n" + text.split(separator: "\n", omittingEmptySubsequences: false).map { TerminalText.escape(String($0)) }.joined(separator: "\n")
        }
        return report + "\neah-run: prompt ids: " + ids.joined(separator: " ") + "\n"
    }

    static func parseIDs(_ text: String) throws -> [Int] {
        var ids: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let id = Int(part.filter { $0 != " " }) else {
                throw ValidationError("--input-ids: '\(part)' is not an integer; pass comma-separated ids like 1,-200,319")
            }
            ids.append(id)
        }
        return ids
    }

    static func main() {
        runAndExit(toolName: "eah-run")
    }
}
