import EAH
import EAHCheckpoint

/// What an `eval` run measured and what it found, as versioned JSON that shards can be merged
/// from exactly.
///
/// Every figure is a ratio of integer counts that add over images (CHAIR's mentions, POPE's
/// true/false positives and negatives), and POPE's questions for an image depend only on that
/// image and the whole annotation file, so the counts of disjoint shards add up to those of a
/// single run and the merged figures are the single run's to the last bit. `run` describes what
/// was measured (model digest, family, EAH settings, data digest, prompt, decoding, seed, tool
/// version); results merge only when it is identical. `paths` (where the model and data were)
/// may differ between machines and is not compared.
public struct EvaluationResult: Sendable, Equatable {
    public static let schemaVersion = 1
    public static let kind = "eah-eval-result"
    /// The largest count a result file may hold: far above any evaluation, and low enough that
    /// adding the counts of as many results as a command line can name cannot overflow.
    public static let maximumCount = 1 << 40

    /// CHAIR's counts.
    public struct CHAIRCounts: Sendable, Equatable {
        public var captions = 0, mentions = 0, hallucinatedMentions = 0, hallucinatedCaptions = 0
        public var groundTruthObjects = 0, groundTruthMentioned = 0, words = 0

        public init() {}

        public init(_ metric: CHAIRMetric) {
            captions = metric.captions
            mentions = metric.mentions
            hallucinatedMentions = metric.hallucinatedMentions
            hallucinatedCaptions = metric.hallucinatedCaptions
            groundTruthObjects = metric.groundTruthObjects
            groundTruthMentioned = metric.groundTruthMentioned
            words = metric.words
        }

        static let keys = ["captions", "mentions", "mentions_hallucinated", "captions_hallucinated", "ground_truth_objects",
                           "ground_truth_mentioned", "words"]

        var values: [Int] {
            [captions, mentions, hallucinatedMentions, hallucinatedCaptions, groundTruthObjects, groundTruthMentioned, words]
        }

        init(values: [Int]) {
            (captions, mentions, hallucinatedMentions, hallucinatedCaptions) = (values[0], values[1], values[2], values[3])
            (groundTruthObjects, groundTruthMentioned, words) = (values[4], values[5], values[6])
        }

        public var chairS: Double { CHAIRMetric.ratio(hallucinatedCaptions, captions) }
        public var chairI: Double { CHAIRMetric.ratio(hallucinatedMentions, mentions) }
        public var recall: Double { CHAIRMetric.ratio(groundTruthMentioned, groundTruthObjects) }
        public var averageLength: Double { CHAIRMetric.ratio(words, captions) }

        static func + (a: CHAIRCounts, b: CHAIRCounts) -> CHAIRCounts {
            CHAIRCounts(values: zip(a.values, b.values).map(+))
        }

        /// Figures first, then the counts they come from.
        var json: [(String, JSONValue)] {
            [("chair_s", .number(chairS)), ("chair_i", .number(chairI)), ("recall", .number(recall)), ("average_length", .number(averageLength))]
                + zip(Self.keys, values).map { ($0, JSONValue.integer($1)) }
        }
    }

    /// POPE's counts for one negative sampling.
    public struct POPECounts: Sendable, Equatable {
        public var truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0

        public init(_ metric: POPEMetric) {
            truePositives = metric.truePositives
            falsePositives = metric.falsePositives
            trueNegatives = metric.trueNegatives
            falseNegatives = metric.falseNegatives
        }

        init(values: [Int]) {
            (truePositives, falsePositives, trueNegatives, falseNegatives) = (values[0], values[1], values[2], values[3])
        }

        static let keys = ["true_positives", "false_positives", "true_negatives", "false_negatives"]
        var values: [Int] { [truePositives, falsePositives, trueNegatives, falseNegatives] }

        public var questions: Int { values.reduce(0, +) }
        public var accuracy: Double { CHAIRMetric.ratio(truePositives + trueNegatives, questions) }
        public var precision: Double { CHAIRMetric.ratio(truePositives, truePositives + falsePositives) }
        public var recall: Double { CHAIRMetric.ratio(truePositives, truePositives + falseNegatives) }
        public var f1: Double { precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall) }
        public var yesRatio: Double { CHAIRMetric.ratio(truePositives + falsePositives, questions) }

        static func + (a: POPECounts, b: POPECounts) -> POPECounts {
            POPECounts(values: zip(a.values, b.values).map(+))
        }

        var json: JSONValue {
            .object([("accuracy", .number(accuracy)), ("precision", .number(precision)), ("recall", .number(recall)), ("f1", .number(f1)),
                     ("yes_ratio", .number(yesRatio)), ("questions", .integer(questions))]
                    + zip(Self.keys, values).map { ($0, JSONValue.integer($1)) })
        }
    }

    /// What was measured: compared member by member before a merge.
    public var run: JSONValue
    /// Where the model, data and images were (informational).
    public var paths: JSONValue
    /// The shards of the selected images this result covers ("0/1": all of them).
    public var shards: [Shard]
    /// Images evaluated.
    public var samples: Int
    public var chair: CHAIRCounts?
    /// Per negative sampling, in the order run.
    public var pope: [(sampling: String, counts: POPECounts)]

    public init(run: JSONValue, paths: JSONValue, shards: [Shard], samples: Int, chair: CHAIRCounts?, pope: [(sampling: String, counts: POPECounts)]) {
        self.run = run
        self.paths = paths
        self.shards = shards
        self.samples = samples
        self.chair = chair
        self.pope = pope
    }

    public static func == (a: EvaluationResult, b: EvaluationResult) -> Bool {
        a.run == b.run && a.paths == b.paths && a.shards == b.shards && a.samples == b.samples && a.chair == b.chair
            && a.pope.map(\.sampling) == b.pope.map(\.sampling) && a.pope.map(\.counts) == b.pope.map(\.counts)
    }

    public var metric: String { chair != nil ? "chair" : "pope" }

    /// Whether the shards cover every selected image once.
    public var complete: Bool { Shard.coverWhole(shards) }

    /// The result document: the figures at the top level (CHAIR's, or one object per POPE
    /// sampling), then what was measured.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("schema", .integer(Self.schemaVersion)), ("kind", .string(Self.kind)), ("metric", .string(metric)), ("samples", .integer(samples)),
            ("eah", run["eah"]?["applied"] ?? .bool(false)), ("max_tokens", run["max_tokens"] ?? .null),
        ]
        if let prompt = run["prompt"] { members.append(("prompt", prompt)) }
        if let seed = run["seed"] { members.append(("seed", seed)) }
        if let chair { members += chair.json }
        for (sampling, counts) in pope { members.append((sampling, counts.json)) }
        members += [("shards", .array(shards.map { .string($0.description) })), ("complete", .bool(complete)), ("run", run), ("paths", paths)]
        return .object(members)
    }

    /// Reads a result written by `json`; the counts are authoritative, figures are recomputed.
    public init(json: JSONValue) throws(EvaluationProblem) {
        func fail(_ reason: String) -> EvaluationProblem { .badResult(reason) }
        guard json["kind"] == .string(Self.kind) else { throw fail("not an eah eval result (kind)") }
        guard case .integer(let schema)? = json["schema"], schema <= Self.schemaVersion else { throw fail("'schema' is missing or newer than \(Self.schemaVersion)") }
        guard case .object? = json["run"], let paths = json["paths"] else { throw fail("'run' or 'paths' is missing") }
        guard case .integer(let samples)? = json["samples"], (0...Self.maximumCount).contains(samples) else { throw fail("'samples' is not a count") }
        guard case .array(let shardList)? = json["shards"] else { throw fail("'shards' is not a list") }
        var shards: [Shard] = []
        for entry in shardList {
            guard case .string(let text) = entry, let shard = Shard(text) else { throw fail("a shard is not I/N") }
            shards.append(shard)
        }
        func counts(_ object: JSONValue?, _ keys: [String]) throws(EvaluationProblem) -> [Int] {
            var values: [Int] = []
            for key in keys {
                guard case .integer(let value)? = object?[key], (0...Self.maximumCount).contains(value) else {
                    throw fail("'\(key)' is not a count (0 to 2^40)")
                }
                values.append(value)
            }
            return values
        }
        var chair: CHAIRCounts?, pope: [(sampling: String, counts: POPECounts)] = []
        switch json["metric"] {
        case .string("chair")?: chair = CHAIRCounts(values: try counts(json, CHAIRCounts.keys))
        case .string("pope")?:
            for sampling in POPEMetric.Sampling.allCases.map(\.rawValue) where json[sampling] != nil {
                pope.append((sampling, POPECounts(values: try counts(json[sampling], POPECounts.keys))))
            }
            guard !pope.isEmpty else { throw fail("no POPE sampling") }
        default: throw fail("'metric' is not chair or pope")
        }
        self.init(run: json["run"]!, paths: paths, shards: shards, samples: samples, chair: chair, pope: pope)
    }

    /// Reads a result file.
    public static func read(_ path: String) throws(CheckpointError) -> EvaluationResult {
        let file = try MappedFile(path: path)
        let json: JSONValue
        do throws(JSONProblem) {
            json = try withExtendedLifetime(file) { () throws(JSONProblem) -> JSONValue in try JSONParser.parse(file.bytes) }
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
        do throws(EvaluationProblem) {
            return try EvaluationResult(json: json)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// The results of disjoint shards of one run added together: refuses results that measured
    /// something else (any member of `run`), other samplings, and shards that repeat or overlap.
    public static func merge(_ results: [EvaluationResult], paths: [String]) throws(CheckpointError) -> EvaluationResult {
        guard var merged = results.first else { throw CheckpointError(path: "--merge", problem: EvaluationProblem.nothingToMerge) }
        var owners = merged.shards.map { ($0, paths[0]) }
        for (result, path) in zip(results, paths).dropFirst() {
            func refuse(_ reason: String) -> CheckpointError { CheckpointError(path: path, problem: EvaluationProblem.incompatibleResults(reason)) }
            if result.run != merged.run {
                let key = Self.firstDifference(result.run, merged.run) ?? "run"
                throw refuse("its \(key) differs from \(paths[0])'s")
            }
            guard result.pope.map(\.sampling) == merged.pope.map(\.sampling), (result.chair == nil) == (merged.chair == nil) else {
                throw refuse("it measured other POPE samplings than \(paths[0])")
            }
            for shard in result.shards {
                if let (earlier, owner) = owners.first(where: { $0.0.overlaps(shard) }) {
                    throw refuse(earlier == shard ? "shard \(shard) is also in \(owner)" : "shard \(shard) overlaps shard \(earlier) of \(owner)")
                }
                owners.append((shard, path))
            }
            merged.shards += result.shards
            merged.samples += result.samples
            if let chair = result.chair { merged.chair = merged.chair.map { $0 + chair } }
            merged.pope = zip(merged.pope, result.pope).map { ($0.sampling, $0.counts + $1.counts) }
        }
        merged.shards.sort { ($0.count, $0.index) < ($1.count, $1.index) }
        return merged
    }

    /// The dotted name of the first member where `a` and `b` differ (`model.digest`).
    static func firstDifference(_ a: JSONValue, _ b: JSONValue, prefix: String = "") -> String? {
        guard case .object(let left) = a, case .object(let right) = b else { return a == b ? nil : (prefix.isEmpty ? nil : prefix) }
        for (key, value) in left {
            let name = prefix.isEmpty ? key : prefix + "." + key
            guard let other = right.first(where: { $0.0 == key })?.1 else { return name }
            if value != other { return firstDifference(value, other, prefix: name) ?? name }
        }
        return right.first { member in !left.contains { $0.0 == member.0 } }.map { prefix.isEmpty ? $0.0 : prefix + "." + $0.0 }
    }
}
