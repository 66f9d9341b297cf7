import ArgumentParser
import EAHCheckpoint
import EAHCommandLine
import EAHModel
import EAHRuntime
import EAHServer

/// `--chat` and `--serve`: a model kept loaded for many answers.
extension EAHRun {
    func validateSession() throws {
        guard !(chat && serve) else { throw ValidationError("--chat and --serve exclude each other") }
        let mode = chat ? "--chat" : "--serve"
        if inputIds != nil || pixelValues != nil || logitsOut != nil || json || prompt != nil {
            throw ValidationError("\(mode) takes none of --prompt, --input-ids, --pixel-values, --logits-out, --json")
        }
        if serve, image != nil || systemPrompt != nil {
            throw ValidationError("--serve takes no --image or --system-prompt: clients send them in their messages")
        }
        if image == "-" { throw ValidationError("--chat reads the conversation from standard input: give --image a path") }
        if maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if ctxSize != nil || verbosePrompt { throw ValidationError("\(mode) takes no --ctx-size or --verbose-prompt") }
    }

    var sampling: SamplingParameters { sampler.parameters }

    func runChat(_ source: ModelSource) throws {
        let pipeline = try self.source.pipeline(source)
        try source.validate(against: pipeline.shape)
        try refuseEAHWithoutImages(source, pipeline)
        let conversation = ChatConversation(pipeline: pipeline, hook: source.hook, systemPrompt: systemPrompt,
                                            sampling: sampling, maxTokens: maxTokens)
        if let image { conversation.attachImage(try pipeline.image(path: image)) }
        ChatTerminal(conversation: conversation).run()
    }

    func runServe(_ source: ModelSource) throws {
        let pipeline = try self.source.pipeline(source)
        try source.validate(against: pipeline.shape)
        try refuseEAHWithoutImages(source, pipeline)
        // A baked bundle carries EAH in its weights: without EAH is its original rows, loaded
        // on the first request that asks for it.
        let baked = source.bundle?.manifest.baked == true && !eah.noEah
        let (path, tower, mmproj, template, mode) = (source.model, source.visionTower, source.mmproj, self.source.template, self.source.imageMode)
        let originalRows = source.bundle?.originalRows
        var plain: (@Sendable () throws -> ModelPipeline)?
        if baked {
            plain = { @Sendable in
                try ModelPipeline(model: path, visionTower: tower, mmproj: mmproj, templateName: template, imageMode: mode, textOverlay: originalRows)
            }
        }
        let served = ServedModel(name: Self.servedName(model), pipeline: pipeline, hook: source.hook,
                                 eahApplied: source.hook != nil || baked, plainPipeline: plain)
        var configuration = server.configuration()
        configuration.maxTokens = maxTokens
        configuration.sampling = sampling
        let eahState = served.appliesEAH ? "EAH on (per request: \"eah\": false)" : "without EAH"
        try ChatCompletionServer(model: served, configuration: configuration).runBlocking { host, port in
            StandardStream.error.write("eah-run: serving \(served.name) (\(eahState)) at http://\(host):\(port)/v1\n")
        }
    }

    /// EAH acts on image positions: a model that takes no image has nothing for it to act on.
    func refuseEAHWithoutImages(_ source: ModelSource, _ pipeline: ModelPipeline) throws {
        if source.hook != nil, !pipeline.model.takesImages {
            throw ValidationError("EAH needs an image and this text-only model takes none: drop --eah-layer to run it on text")
        }
    }

    /// The model id clients see: the model or bundle's folder (or file) name.
    static func servedName(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
        return trimmed.split(separator: "/").last.map(String.init) ?? trimmed
    }

    /// Standard input as text, without its final newline (`--prompt -`).
    static func standardInputText() -> String {
        var text = String(decoding: StandardInput.readAll(), as: UTF8.self)
        if text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
