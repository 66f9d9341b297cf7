import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHServerAPI
import Synchronization
import EAHCore

/// Chat completions apart from HTTP: a checked request becomes a prompt, runs on the worker,
/// and its events become OpenAI's response objects.
final class ChatCompletionService: Sendable {
    /// A request ready to run: its prompt, image and generation settings.
    struct Prepared: Sendable {
        let id: String
        let created: Int
        let prompt: ModelInput
        let images: [PreparedImage]
        let eah: Bool
        let sampling: SamplingParameters
        let maxTokens: Int
        let stop: [String]
    }

    /// What a running generation reports, in order: text pieces, then one end.
    enum Event: Sendable {
        case text(String)
        case finished(reason: String, promptTokens: Int, completionTokens: Int)
        case failed(APIError)
    }

    let model: ServedModel
    let configuration: ServerConfiguration
    let worker: GenerationWorker
    private let requestCount = Atomic<Int>(0)

    init(model: ServedModel, configuration: ServerConfiguration) {
        self.model = model
        self.configuration = configuration
        worker = GenerationWorker(queueCapacity: configuration.queueCapacity)
    }

    // MARK: Preparing

    /// The prompt, image and settings of `request`; a 400 for anything the model cannot take.
    func prepare(_ request: ChatCompletionRequest) throws(APIError) -> Prepared {
        if request.eah == true, !model.appliesEAH {
            throw .invalid("this server runs the model without EAH: serve an EAH bundle (without --no-eah), or pass --eah-layer",
                           param: "eah", code: "eah_unavailable")
        }
        var images: [PreparedImage] = []
        if request.image != nil, !model.pipeline.model.takesImages {
            throw .invalid("image_url parts are not supported by model '\(model.name)': it has no vision tower (a text-only model); send the messages as text",
                           param: "messages", code: "image_not_supported")
        }
        if let image = request.image {
            let (bytes, origin) = try ImageLoader.bytes(of: image, maxBytes: configuration.maxImageBytes)
            do throws(CheckpointError) {
                images = [try model.pipeline.image(bytes: bytes, origin: origin, maximumPixelCount: configuration.maxImagePixels)]
            } catch {
                throw .invalid("the image could not be used: \(error.problem.message)", param: "messages", code: "invalid_image")
            }
        }
        let prompt: ModelInput
        do throws(CheckpointError) {
            prompt = try model.pipeline.prompt(messages: request.messages, images: images)
        } catch {
            var code: String?
            if case .promptTooLong? = error.problem as? ConversationProblem { code = "context_length_exceeded" }
            throw .invalid(error.problem.message + (error.problem.fix.map { "; " + $0 } ?? ""), param: "messages", code: code)
        }
        let defaults = configuration.sampling
        // The command line's --top-k, --min-p and --repeat-penalty apply to every request.
        var sampling = defaults
        sampling.temperature = request.temperature ?? defaults.temperature
        sampling.topP = request.topP ?? defaults.topP
        sampling.seed = request.seed ?? defaults.seed
        let room = model.pipeline.contextLength - prompt.tokens.count
        let number = requestCount.add(1, ordering: .relaxed).newValue
        return Prepared(id: "chatcmpl-eah-\(number)", created: time(nil), prompt: prompt, images: images,
                        eah: request.eah ?? model.appliesEAH, sampling: sampling,
                        maxTokens: min(request.maxTokens ?? configuration.maxTokens, room), stop: request.stop)
    }

    // MARK: Running

    /// Queues `prepared`; its events arrive on the stream. Throws a 503 when the queue is full.
    /// Generation stops early once `cancellation` is set (the client went away).
    func start(_ prepared: Prepared, cancellation: CancellationFlag) throws(APIError) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self)
        continuation.onTermination = { _ in cancellation.cancel() }
        let accepted = worker.submit { [self] in
            run(prepared, cancellation: cancellation) { continuation.yield($0) }
            continuation.finish()
        }
        guard accepted else {
            continuation.finish()
            let wait = worker.retryAfterSeconds
            throw APIError(status: 503, type: "server_busy",
                           message: "the server is busy: \(worker.queueCapacity) requests are waiting already; retry after \(wait) s",
                           code: "queue_full", retryAfter: wait)
        }
        return stream
    }

    /// Generates on the worker thread.
    private func run(_ prepared: Prepared, cancellation: CancellationFlag, emit: (Event) -> Void) {
        let variant: ServedModel.Variant
        do {
            variant = try model.variant(eah: prepared.eah)
        } catch {
            emit(.failed(APIError(status: 500, type: "server_error", message: "the model without EAH could not be loaded: \(error)")))
            return
        }
        let pipeline = variant.pipeline, stopTokens = pipeline.stopTokens
        var stream = TextStream(tokenizer: pipeline.tokenizer)
        var filter = StopSequenceFilter(prepared.stop)
        var completionTokens = 0, reason = "length"
        do throws(ModelProblem) {
            _ = try pipeline.model.generate(
                prepared.prompt, images: prepared.images, session: GenerationSession(), maxTokens: prepared.maxTokens,
                sampling: prepared.sampling, stopTokens: stopTokens, hook: variant.hook) { token in
                    if stopTokens.contains(token) {
                        reason = "stop"
                        return false
                    }
                    completionTokens += 1
                    let text = filter.feed(stream.append(token))
                    if !text.isEmpty { emit(.text(text)) }
                    if filter.stopped { reason = "stop" }
                    return !filter.stopped && !cancellation.isCancelled
                }
        } catch {
            emit(.failed(APIError(status: 500, type: "server_error", message: "generation failed: \(error.message)")))
            return
        }
        let rest = filter.feed(stream.finish()) + filter.finish()
        if !rest.isEmpty { emit(.text(rest)) }
        if filter.stopped { reason = "stop" }
        emit(.finished(reason: reason, promptTokens: prepared.prompt.tokens.count, completionTokens: completionTokens))
    }

    // MARK: Response objects

    /// The `chat.completion` object of a finished non-streaming request.
    func completion(_ prepared: Prepared, text: String, reason: String, promptTokens: Int, completionTokens: Int) -> JSONValue {
        .object([
            ("id", .string(prepared.id)), ("object", .string("chat.completion")), ("created", .integer(prepared.created)),
            ("model", .string(model.name)),
            ("choices", .array([.object([
                ("index", .integer(0)),
                ("message", .object([("role", .string("assistant")), ("content", .string(text))])),
                ("finish_reason", .string(reason)),
            ])])),
            ("usage", usage(promptTokens: promptTokens, completionTokens: completionTokens)),
            ("eah", .bool(prepared.eah)),
        ])
    }

    /// One `chat.completion.chunk` of a stream; `delta` nil with `usage` for the usage chunk.
    func chunk(_ prepared: Prepared, delta: [(String, JSONValue)]?, finishReason: String? = nil, usage: JSONValue? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("id", .string(prepared.id)), ("object", .string("chat.completion.chunk")), ("created", .integer(prepared.created)),
            ("model", .string(model.name)),
        ]
        if let delta {
            members.append(("choices", .array([.object([
                ("index", .integer(0)), ("delta", .object(delta)), ("finish_reason", finishReason.map(JSONValue.string) ?? .null),
            ])])))
        } else {
            members.append(("choices", .array([])))
        }
        if let usage { members.append(("usage", usage)) }
        members.append(("eah", .bool(prepared.eah)))
        return .object(members)
    }

    func usage(promptTokens: Int, completionTokens: Int) -> JSONValue {
        .object([("prompt_tokens", .integer(promptTokens)), ("completion_tokens", .integer(completionTokens)),
                 ("total_tokens", .integer(promptTokens + completionTokens))])
    }

    /// `GET /v1/models`.
    var modelList: JSONValue {
        .object([("object", .string("list")), ("data", .array([.object([
            ("id", .string(model.name)), ("object", .string("model")), ("created", .integer(0)), ("owned_by", .string("eah")),
            ("eah", .bool(model.appliesEAH)),
        ])]))])
    }
}
