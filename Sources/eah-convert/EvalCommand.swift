import ArgumentParser
import EAHCommandLine
import EAH
import EAHCheckpoint
import EAHCore
import EAHRuntime

/// `eah-convert eval MODEL --data ANNOTATIONS --metric chair|pope`: object hallucination of a
/// model (or bundle) on COCO-format instance annotations.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure object hallucination (CHAIR or POPE) on COCO-format instance annotations, with or without EAH.",
        discussion: """
            CHAIR captions each image (greedy, --prompt) and counts mentioned objects absent from its \
            annotations; POPE asks "Is there a {object} in the image?" about present and absent objects \
            (random, popular and adversarial sampling). Images are looked up in --images, by default \
            the annotation file's folder. --shard I/N evaluates every N-th selected image from the I-th \
            (write each with -o), and --merge RESULT... -o RESULT adds the shards' counts into the \
            result a single run would give.
            """
    )

    enum Metric: String, ExpressibleByArgument, CaseIterable {
        case chair, pope
    }

    enum SamplingChoice: String, ExpressibleByArgument, CaseIterable {
        case random, popular, adversarial, all
    }

    static let defaultPrompt = "Please describe this image in detail."

    @Argument(help: "An EAH bundle, a model folder, checkpoint file, index file, or text-model GGUF (omit with --merge).")
    var model: String?

    @OptionGroup var source: ModelSourceOptions

    @Option(help: "COCO-format instance annotations (e.g. instances_val2014.json).")
    var data: String?

    @Option(help: "chair or pope.")
    var metric: Metric?

    @OptionGroup var eah: EAHRunOptions

    @Option(help: "The folder holding the images (default: the annotation file's folder).")
    var images: String?

    @Option(help: "A synonyms list in CHAIR's format instead of CHAIR's own: per line a canonical object, then its synonyms, separated by \", \".")
    var synonyms: String?

    @Option(help: "CHAIR: COCO's reference captions (captions_val2014.json); the objects they name count as ground truth too, as in CHAIR's script.")
    var referenceCaptions: String?

    @Option(help: "CHAIR: the captioning prompt (default: \"\(defaultPrompt)\"); POPE: the question template with {object} (default: POPE's \"Is there a {object} in the image?\").")
    var prompt: String?

    @Option(help: "Tokens to generate per answer (default: 64 for chair, 8 for pope).")
    var maxTokens: Int?

    @Option(help: "Evaluate only the first N images (for pope: the first N with annotated objects).")
    var limit: Int?

    @Option(help: "POPE's negative sampling: random, popular, adversarial or all.")
    var popeSampling: SamplingChoice = .all

    @Option(help: "Seed of POPE's random negative sampling (default: 0).")
    var seed: UInt64?

    @Option(help: "Write each image's caption and its objects to this JSONL file (chair).")
    var captionsOut: String?

    @Option(help: "Write each question, its answer and how POPE read it to this JSONL file (pope).")
    var answersOut: String?

    @Option(help: "Evaluate every N-th selected image starting at I (0 ≤ I < N), as I/N.")
    var shard: String?

    @Option(parsing: .upToNextOption, help: "Merge these results (of --shard runs) instead of evaluating.")
    var merge: [String] = []

    @Option(name: .shortAndLong, help: "Write the result (JSON, for --merge) to this file.")
    var output: String?

    @Flag(help: "Overwrite -o, --captions-out and --answers-out if they exist.")
    var force = false

    @OptionGroup var display: OutputOptions

    @Flag(help: "Print one JSON document ({\"schema\": 1, ...}) instead of a summary.")
    var json = false

    func validate() throws {
        if !merge.isEmpty {
            guard output != nil else { throw ValidationError("--merge writes the merged result: add -o RESULT") }
            let given = model != nil || data != nil || metric != nil || source.given || eah.given || images != nil || synonyms != nil || referenceCaptions != nil || prompt != nil
                || maxTokens != nil || limit != nil || popeSampling != .all || seed != nil || captionsOut != nil || answersOut != nil || shard != nil
            if given { throw ValidationError("--merge takes only results, -o, --force and --json: what was measured comes from the results") }
            return
        }
        guard model != nil else { throw ValidationError("give the MODEL to evaluate (or --merge RESULT... -o RESULT)") }
        guard data != nil else { throw ValidationError("--data is required: COCO-format instance annotations") }
        guard let metric else { throw ValidationError("--metric is required: chair or pope") }
        if let shard, Shard(shard) == nil { throw ValidationError("--shard '\(shard)' is not I/N with 0 ≤ I < N, e.g. --shard 0/4") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if metric == .pope, let prompt, !prompt.contains("{object}") {
            throw ValidationError("for pope, --prompt is the question template and must contain {object}")
        }
        if metric == .pope, synonyms != nil || captionsOut != nil || referenceCaptions != nil {
            throw ValidationError("--synonyms, --reference-captions and --captions-out apply to --metric chair only")
        }
        if metric == .chair, answersOut != nil { throw ValidationError("--answers-out applies to --metric pope only") }
        if metric == .chair, popeSampling != .all || seed != nil { throw ValidationError("--pope-sampling and --seed apply to --metric pope only") }
        if let prompt, prompt.contains("<image>") {
            throw ValidationError("--prompt contains <image>: the conversation template inserts the image; remove <image> from the prompt")
        }
        if force, captionsOut == nil, answersOut == nil, output == nil { throw ValidationError("--force applies to -o, --captions-out and --answers-out only") }
        if let model { try source.check(model: model) }
    }

    func run() throws {
        display.apply()
        let result: EvaluationResult
        if !merge.isEmpty {
            result = try EvaluationResult.merge(try merge.map { path throws(CheckpointError) in try EvaluationResult.read(path) }, paths: merge)
            if !result.complete {
                StandardStream.error.write("eah-convert: warning: the merged shards (\(result.shards.map(\.description).joined(separator: ", "))) do not cover every image; merge the other shards too\n")
            }
        } else {
            result = try evaluate()
        }
        if let output { try TextFile.write(result.json.pretty + "\n", to: output, overwrite: force) }
        print(json ? result.json.serialized : Self.summary(result))
    }

    /// Runs the model over the selected images (of `--shard`), writing captions or answers.
    private func evaluate() throws -> EvaluationResult {
        guard let model, let data, let metric else { throw ValidationError("missing arguments") }
        let annotations = try COCOAnnotations(path: data, imagesFolder: images)
        let vocabulary = (try synonyms.map { path throws(CheckpointError) in try ObjectVocabulary(path: path) } ?? ObjectVocabulary.chair)
            .adding(categories: annotations.categories.map(\.name))
        var selected = metric == .pope ? annotations.images.filter { !$0.instances.isEmpty } : annotations.images
        if let limit { selected = Array(selected.prefix(limit)) }
        guard !selected.isEmpty else { throw CheckpointError(path: data, problem: EvaluationProblem.noImages) }
        let extraObjects = try referenceCaptions.map { path throws(CheckpointError) in try ReferenceCaptions(path: path).objects(vocabulary) } ?? [:]
        let part = shard.flatMap(Shard.init) ?? .whole
        let mine = part.select(selected)
        try annotations.checkFiles(mine)

        let modelSource = try eah.modelSource(path: model, options: source)
        let pipeline = try source.pipeline(modelSource)
        try modelSource.validate(against: pipeline.shape)
        let tokens = maxTokens ?? (metric == .chair ? 64 : 8)
        let question = prompt ?? (metric == .chair ? Self.defaultPrompt : POPEMetric.defaultTemplate)
        let record = try EvaluationRecord(command: self, model: model, data: data, metric: metric, source: modelSource, pipeline: pipeline,
                                          selected: selected.count, maxTokens: tokens, prompt: question)
        let evaluator = Evaluator(pipeline: pipeline, hook: modelSource.hook, maxTokens: tokens)
        let bar = ProgressBar(label: metric == .chair ? "captioning" : "asking", unit: .items("images"))
        switch metric {
        case .chair:
            let (result, captions) = try evaluator.chair(images: mine, annotations: annotations, vocabulary: vocabulary, prompt: question,
                                                         extraObjects: extraObjects) {
                bar.update(done: $0, total: $1)
            }
            bar.finish()
            if let captionsOut {
                try TextFile.write(captions.map { Self.captionLine($0).serialized + "\n" }.joined(), to: captionsOut, overwrite: force)
            }
            return EvaluationResult(run: record.run, paths: record.paths, shards: [part], samples: mine.count,
                                    chair: EvaluationResult.CHAIRCounts(result), pope: [])
        case .pope:
            let samplings = popeSampling == .all ? POPEMetric.Sampling.allCases : POPEMetric.Sampling(rawValue: popeSampling.rawValue).map { [$0] } ?? []
            let (results, answers) = try evaluator.pope(images: mine, annotations: annotations, samplings: samplings, seed: seed ?? 0,
                                                        questionTemplate: question) {
                bar.update(done: $0, total: $1)
            }
            bar.finish()
            if let answersOut {
                try TextFile.write(answers.map { Self.answerLine($0).serialized + "\n" }.joined(), to: answersOut, overwrite: force)
            }
            return EvaluationResult(run: record.run, paths: record.paths, shards: [part], samples: mine.count, chair: nil,
                                    pope: results.map { ($0.0.rawValue, EvaluationResult.POPECounts($0.1)) })
        }
    }

    static func captionLine(_ record: Evaluator.CaptionRecord) -> JSONValue {
        .object([
            ("image_id", .integer(record.image.id)), ("file_name", .string(record.image.fileName)), ("caption", .string(record.caption)),
            ("mentioned", .array(record.score.mentioned.map(JSONValue.string))),
            ("hallucinated", .array(record.score.hallucinated.map(JSONValue.string))),
            ("ground_truth", .array(record.score.groundTruth.sorted().map(JSONValue.string))),
        ])
    }

    static func answerLine(_ record: Evaluator.AnswerRecord) -> JSONValue {
        .object([
            ("sampling", .string(record.sampling.rawValue)), ("image_id", .integer(record.question.imageID)),
            ("category_id", .integer(record.question.categoryID)), ("object", .string(record.question.object)),
            ("question", .string(record.text)), ("label", .string(record.question.present ? "yes" : "no")),
            ("answer", .string(record.answer)), ("parsed", .string(record.saidYes ? "yes" : "no")),
        ])
    }

    /// The human summary of a result.
    static func summary(_ result: EvaluationResult) -> String {
        let eah = result.run["eah"]?["applied"] == .bool(true)
        let tokens: String
        if case .integer(let count)? = result.run["max_tokens"] { tokens = String(count) } else { tokens = "?" }
        let scope = result.shards == [.whole] ? "" : ", shards \(result.shards.map(\.description).joined(separator: " "))"
        if let metric = result.chair {
            return """
                CHAIR on \(result.samples) images (EAH \(eah ? "on" : "off"), up to \(tokens) tokens\(scope))
                  CHAIR_S  \(percent(metric.chairS))  (\(metric.hallucinatedCaptions) of \(metric.captions) captions hallucinate)
                  CHAIR_I  \(percent(metric.chairI))  (\(metric.hallucinatedMentions) of \(metric.mentions) object mentions)
                  recall   \(percent(metric.recall))  (\(metric.groundTruthMentioned) of \(metric.groundTruthObjects) annotated objects)
                  length   \(decimal(metric.averageLength)) words per caption
                """
        }
        let columns = ["accuracy", "precision", "recall", "F1", "yes"].map { pad($0, 11) }.joined()
        var lines = ["POPE on \(result.samples) images (EAH \(eah ? "on" : "off"), up to \(tokens) tokens\(scope))", "  " + pad("sampling", 13) + columns + "questions"]
        for (sampling, metric) in result.pope {
            let cells = [metric.accuracy, metric.precision, metric.recall, metric.f1, metric.yesRatio].map { pad(percent($0), 11) }
            lines.append("  " + pad(sampling, 13) + cells.joined() + "\(metric.questions)")
        }
        return lines.joined(separator: "\n")
    }

    static func percent(_ value: Double) -> String { decimal(value * 100) + "%" }

    static func decimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(1, width - text.count))
    }
}
