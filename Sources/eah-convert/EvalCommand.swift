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
            the annotation file's folder.
            """
    )

    enum Metric: String, ExpressibleByArgument, CaseIterable {
        case chair, pope
    }

    enum SamplingChoice: String, ExpressibleByArgument, CaseIterable {
        case random, popular, adversarial, all
    }

    static let defaultPrompt = "Please describe this image in detail."

    @Argument(help: "An EAH bundle, a model folder, checkpoint file, index file, or text-model GGUF.")
    var model: String

    @OptionGroup var source: ModelSourceOptions

    @Option(help: "COCO-format instance annotations (e.g. instances_val2014.json).")
    var data: String

    @Option(help: "chair or pope.")
    var metric: Metric

    @OptionGroup var eah: EAHRunOptions

    @Option(help: "The folder holding the images (default: the annotation file's folder).")
    var images: String?

    @Option(help: "CHAIR's synonyms list: per line a canonical object, then its synonyms, comma-separated.")
    var synonyms: String?

    @Option(help: "CHAIR: the captioning prompt (default: \"\(defaultPrompt)\"); POPE: the question template with {object} (default: POPE's \"Is there a {object} in the image?\").")
    var prompt: String?

    @Option(help: "Tokens to generate per answer (default: 64 for chair, 8 for pope).")
    var maxTokens: Int?

    @Option(help: "Evaluate only the first N images (for pope: the first N with annotated objects).")
    var limit: Int?

    @Option(help: "POPE's negative sampling: random, popular, adversarial or all.")
    var popeSampling: SamplingChoice = .all

    @Option(help: "Seed of POPE's random sampling.")
    var seed: UInt64 = 0

    @Option(help: "Write each image's caption and its objects to this JSONL file (chair).")
    var captionsOut: String?

    @Flag(help: "Overwrite --captions-out if it exists.")
    var force = false

    @Flag(help: "Print one JSON document ({\"schema\": 1, ...}) instead of a summary.")
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if metric == .pope, let prompt, !prompt.contains("{object}") {
            throw ValidationError("for pope, --prompt is the question template and must contain {object}")
        }
        if metric == .pope, synonyms != nil || captionsOut != nil {
            throw ValidationError("--synonyms and --captions-out apply to --metric chair only")
        }
        if metric == .chair, popeSampling != .all { throw ValidationError("--pope-sampling applies to --metric pope only") }
    }

    func run() throws {
        let annotations = try COCOAnnotations(path: data, imagesFolder: images)
        let vocabulary = try synonyms.map { path throws(CheckpointError) in try ObjectVocabulary(path: path) }
            ?? ObjectVocabulary(categories: annotations.categories.map(\.name))
        var selected = metric == .pope ? annotations.images.filter { !$0.instances.isEmpty } : annotations.images
        if let limit { selected = Array(selected.prefix(limit)) }
        guard !selected.isEmpty else { throw CheckpointError(path: data, problem: EvaluationProblem.noImages) }
        try annotations.checkFiles(selected)

        let modelSource = try eah.modelSource(path: model, options: source)
        let pipeline = try source.pipeline(modelSource)
        try modelSource.validate(against: pipeline.shape)
        let eahApplied = !eah.noEah && (modelSource.hook != nil || modelSource.bundle != nil)
        let tokens = maxTokens ?? (metric == .chair ? 64 : 8)
        let evaluator = Evaluator(pipeline: pipeline, hook: modelSource.hook, maxTokens: tokens)
        let header: [(String, JSONValue)] = [
            ("schema", .integer(1)), ("metric", .string(metric.rawValue)), ("samples", .integer(selected.count)), ("eah", .bool(eahApplied)),
            ("max_tokens", .integer(tokens)),
        ]
        let bar = ProgressBar(label: metric == .chair ? "captioning" : "asking", unit: .items("images"))
        switch metric {
        case .chair:
            let question = prompt ?? Self.defaultPrompt
            let (result, captions) = try evaluator.chair(images: selected, annotations: annotations, vocabulary: vocabulary, prompt: question) {
                bar.update(done: $0, total: $1)
            }
            bar.finish()
            if let captionsOut {
                let lines = captions.map { Self.captionLine($0).serialized + "\n" }.joined()
                try TextFile.write(lines, to: captionsOut, overwrite: force)
            }
            if json {
                print(JSONValue.object(header + [("prompt", .string(question))] + Self.chairFigures(result)).serialized)
            } else {
                print(Self.chairSummary(result, eah: eahApplied, tokens: tokens))
            }
        case .pope:
            let samplings = popeSampling == .all ? POPEMetric.Sampling.allCases : POPEMetric.Sampling(rawValue: popeSampling.rawValue).map { [$0] } ?? []
            let results = try evaluator.pope(images: selected, annotations: annotations, samplings: samplings, seed: seed,
                                             questionTemplate: prompt ?? POPEMetric.defaultTemplate) {
                bar.update(done: $0, total: $1)
            }
            bar.finish()
            if json {
                print(JSONValue.object(header + [("seed", Int(exactly: seed).map(JSONValue.integer) ?? .number(Double(seed)))] + results.map { ($0.0.rawValue, Self.popeFigures($0.1)) }).serialized)
            } else {
                print(Self.popeSummary(results, images: selected.count, eah: eahApplied, tokens: tokens))
            }
        }
    }

    static func chairFigures(_ metric: CHAIRMetric) -> [(String, JSONValue)] {
        [
            ("chair_s", .number(metric.chairS)), ("chair_i", .number(metric.chairI)), ("recall", .number(metric.recall)),
            ("average_length", .number(metric.averageLength)), ("captions", .integer(metric.captions)),
            ("captions_hallucinated", .integer(metric.hallucinatedCaptions)), ("mentions", .integer(metric.mentions)),
            ("mentions_hallucinated", .integer(metric.hallucinatedMentions)), ("ground_truth_objects", .integer(metric.groundTruthObjects)),
            ("ground_truth_mentioned", .integer(metric.groundTruthMentioned)),
        ]
    }

    static func popeFigures(_ metric: POPEMetric) -> JSONValue {
        .object([
            ("accuracy", .number(metric.accuracy)), ("precision", .number(metric.precision)), ("recall", .number(metric.recall)),
            ("f1", .number(metric.f1)), ("yes_ratio", .number(metric.yesRatio)), ("questions", .integer(metric.questions)),
        ])
    }

    static func captionLine(_ record: Evaluator.CaptionRecord) -> JSONValue {
        .object([
            ("image_id", .integer(record.image.id)), ("file_name", .string(record.image.fileName)), ("caption", .string(record.caption)),
            ("mentioned", .array(record.score.mentioned.map(JSONValue.string))),
            ("hallucinated", .array(record.score.hallucinated.map(JSONValue.string))),
            ("ground_truth", .array(record.score.groundTruth.sorted().map(JSONValue.string))),
        ])
    }

    static func chairSummary(_ metric: CHAIRMetric, eah: Bool, tokens: Int) -> String {
        """
        CHAIR on \(metric.captions) images (EAH \(eah ? "on" : "off"), up to \(tokens) tokens)
          CHAIR_S  \(percent(metric.chairS))  (\(metric.hallucinatedCaptions) of \(metric.captions) captions hallucinate)
          CHAIR_I  \(percent(metric.chairI))  (\(metric.hallucinatedMentions) of \(metric.mentions) object mentions)
          recall   \(percent(metric.recall))  (\(metric.groundTruthMentioned) of \(metric.groundTruthObjects) annotated objects)
          length   \(decimal(metric.averageLength)) words per caption
        """
    }

    static func popeSummary(_ results: [(POPEMetric.Sampling, POPEMetric)], images: Int, eah: Bool, tokens: Int) -> String {
        let columns = ["accuracy", "precision", "recall", "F1", "yes"].map { pad($0, 11) }.joined()
        var lines = ["POPE on \(images) images (EAH \(eah ? "on" : "off"), up to \(tokens) tokens)", "  " + pad("sampling", 13) + columns + "questions"]
        for (sampling, metric) in results {
            let cells = [metric.accuracy, metric.precision, metric.recall, metric.f1, metric.yesRatio].map { pad(percent($0), 11) }
            lines.append("  " + pad(sampling.rawValue, 13) + cells.joined() + "\(metric.questions)")
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
