import EAHCheckpoint

/// A calibration report: the statistics (exactly mergeable) and their summary, as versioned JSON.
///
/// `eah-convert calibrate` writes one per run or shard; `--merge` adds the statistics of
/// several (same model, β, layers and heads; no sample counted twice) into one.
public struct CalibrationReport: Sendable, Equatable {
    public static let schemaVersion = 1

    public var toolVersion: String
    /// The model's weight layout and the path it was calibrated from (informational).
    public var modelLayout: String
    public var modelPath: String
    /// `ModelDigest` of the model's weight files ("" in reports written before it was recorded).
    public var modelDigest: String
    public var beta: Double
    /// SHA-256 digests of the calibration data each shard read, sorted.
    public var dataDigests: [String]
    /// The shards merged into this report, as "I/N" (empty: the whole set in one run).
    public var shards: [String]
    public var statistics: CalibrationStatistics

    public init(toolVersion: String, modelLayout: String, modelPath: String, modelDigest: String = "", beta: Double, dataDigests: [String],
                shards: [String], statistics: CalibrationStatistics) {
        self.toolVersion = toolVersion
        self.modelLayout = modelLayout
        self.modelPath = modelPath
        self.modelDigest = modelDigest
        self.beta = beta
        self.dataDigests = dataDigests
        self.shards = shards
        self.statistics = statistics
    }

    /// The head each calibrated layer would broadcast (layers without a winner are absent).
    public var chosenHeads: [(layer: Int, head: Int)] {
        statistics.summary.compactMap { summary in summary.chosenHead.map { (summary.layer, $0) } }
    }

    /// The density above which every head of a layer counts as saturated.
    public static let saturation = 0.9

    /// Layers where every head's sink density is above `saturation`: β is too low to tell the
    /// heads apart, and the chosen head falls to the tie-break.
    public var saturatedLayers: [Int] {
        statistics.summary.filter { layer in !layer.sinkDensity.isEmpty && layer.sinkDensity.allSatisfy { $0 > Self.saturation } }.map(\.layer)
    }

    /// What the user should know about this calibration (printed and written into the report).
    public var warnings: [String] {
        saturatedLayers.map { layer in
            "β = \(beta) saturates layer \(layer): every head's sink density is above \(Self.saturation), so its head is chosen by the tie-break; raise --beta"
        }
    }

    /// The shards this report covers (the whole data set when it lists none).
    func coveredShards(path: String) throws(CheckpointError) -> [Shard] {
        guard !shards.isEmpty else { return [.whole] }
        var parsed: [Shard] = []
        for text in shards {
            guard let shard = Shard(text) else {
                throw CheckpointError(path: path, problem: CalibrationProblem.badReport("shard '\(text)' is not I/N"))
            }
            parsed.append(shard)
        }
        return parsed
    }

    /// The reports' statistics added together. They must be of one model (digest, or layout
    /// when a report predates digests), agree on β, layers and heads, and cover disjoint shards
    /// of each data set (the same shard twice, or overlapping shards, would count samples twice).
    public static func merge(_ reports: [CalibrationReport], paths: [String]) throws(CheckpointError) -> CalibrationReport {
        guard var merged = reports.first else {
            throw CheckpointError(path: "--merge", problem: CalibrationProblem.nothingToMerge)
        }
        var covered: [(shard: Shard, data: [String], path: String)] = try merged.coveredShards(path: paths[0]).map { ($0, merged.dataDigests, paths[0]) }
        for (report, path) in zip(reports, paths).dropFirst() {
            if !report.modelDigest.isEmpty, !merged.modelDigest.isEmpty, report.modelDigest != merged.modelDigest {
                throw CheckpointError(path: path, problem: CalibrationProblem.incompatibleReports(
                    "it measured another model (digest \(report.modelDigest.prefix(12))…, \(paths[0]) has \(merged.modelDigest.prefix(12))…)"))
            }
            guard report.modelLayout == merged.modelLayout, report.beta == merged.beta,
                  report.statistics.isCompatible(with: merged.statistics) else {
                throw CheckpointError(path: path, problem: CalibrationProblem.incompatibleReports(
                    "its layout, β, layers or head count differ from \(paths[0])'s"))
            }
            for shard in try report.coveredShards(path: path) {
                for earlier in covered where earlier.data == report.dataDigests && earlier.shard.overlaps(shard) {
                    let what = earlier.shard == shard ? "shard \(shard) is also in \(earlier.path)" : "shard \(shard) overlaps shard \(earlier.shard) of \(earlier.path)"
                    throw CheckpointError(path: path, problem: CalibrationProblem.incompatibleReports(what + " (samples would count twice)"))
                }
                covered.append((shard, report.dataDigests, path))
            }
            if merged.modelDigest.isEmpty { merged.modelDigest = report.modelDigest }
            merged.statistics = merged.statistics.merged(with: report.statistics)
            merged.dataDigests = Array(Set(merged.dataDigests + report.dataDigests)).sorted()
            merged.shards += report.shards
        }
        merged.shards.sort()
        return merged
    }

    // MARK: JSON

    public var json: JSONValue {
        let statistics = self.statistics
        let layers: [JSONValue] = statistics.layers.indices.map { index in
            let grouped = statistics.countsByImageTokens[index].keys.sorted().map { tokens in
                (String(tokens), JSONValue.array(statistics.countsByImageTokens[index][tokens]!.map(JSONValue.integer)))
            }
            return .object([
                ("layer", .integer(statistics.layers[index])),
                ("sum_counts", .array(statistics.sumCounts[index].map(JSONValue.integer))),
                ("wins", .array(statistics.wins[index].map(JSONValue.integer))),
                ("no_winner", .integer(statistics.noWinner[index])),
                ("counts_by_image_tokens", .object(grouped)),
                ("sum_counts_by_kind", .object(statistics.sumCountsByKind[index].keys.sorted().map { kind in
                    (kind, JSONValue.array(statistics.sumCountsByKind[index][kind]!.map(JSONValue.integer)))
                })),
            ])
        }
        let summary: [JSONValue] = statistics.summary.map { layer in
            .object([
                ("layer", .integer(layer.layer)),
                ("chosen_head", layer.chosenHead.map(JSONValue.integer) ?? .null),
                ("agreement", .number(layer.agreement)),
                ("heads", .array((0..<statistics.headCount).map { head in
                    .object([
                        ("head", .integer(head)),
                        ("mean_sink_count", .number(layer.meanSinkCount[head])),
                        ("sink_density", .number(layer.sinkDensity[head])),
                        ("win_frequency", .number(layer.winFrequency[head])),
                    ])
                })),
            ])
        }
        return .object([
            ("schema", .integer(Self.schemaVersion)),
            ("kind", .string("eah-calibration-report")),
            ("tool_version", .string(toolVersion)),
            ("model", .object([("layout", .string(modelLayout)), ("path", .string(modelPath)), ("digest", .string(modelDigest))])),
            ("beta", .number(beta)),
            ("layers", .array(statistics.layers.map(JSONValue.integer))),
            ("heads", .integer(statistics.headCount)),
            ("samples", .integer(statistics.sampleCount)),
            ("data_digests", .array(dataDigests.map(JSONValue.string))),
            ("shards", .array(shards.map(JSONValue.string))),
            ("warnings", .array(warnings.map(JSONValue.string))),
            ("summary", .array(summary)),
            ("statistics", .object([("layers", .array(layers)),
                                    ("image_tokens_by_kind", .object(statistics.imageTokensByKind.keys.sorted().map { ($0, JSONValue.integer(statistics.imageTokensByKind[$0]!)) })),
                                    ("image_tokens_by_sample", .array(statistics.imageTokensBySample.keys.sorted().map { sample in
                                        .object([("sample", .integer(sample)), ("image_tokens", .integer(statistics.imageTokensBySample[sample]!))])
                                    }))])),
        ])
    }

    /// Reads a report written by `json`; the statistics section is authoritative.
    public init(json: JSONValue) throws(CalibrationProblem) {
        func field(_ value: JSONValue?, _ name: String) throws(CalibrationProblem) -> JSONValue {
            guard let value else { throw .badReport("missing '\(name)'") }
            return value
        }
        func int(_ value: JSONValue?, _ name: String) throws(CalibrationProblem) -> Int {
            guard case .integer(let number)? = value else { throw .badReport("'\(name)' is not an integer") }
            return number
        }
        func ints(_ value: JSONValue?, _ name: String) throws(CalibrationProblem) -> [Int] {
            guard case .array(let items)? = value else { throw .badReport("'\(name)' is not a list") }
            var result: [Int] = []
            for item in items { result.append(try int(item, name)) }
            return result
        }
        func strings(_ value: JSONValue?, _ name: String) throws(CalibrationProblem) -> [String] {
            guard case .array(let items)? = value else { throw .badReport("'\(name)' is not a list") }
            return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
        }
        guard json["kind"] == .string("eah-calibration-report") else { throw .badReport("not an eah calibration report (kind)") }
        let version = try int(json["schema"], "schema")
        guard version <= Self.schemaVersion else { throw .badReport("schema \(version) is newer than this tool's \(Self.schemaVersion)") }
        let beta: Double
        switch json["beta"] {
        case .number(let value)?: beta = value
        case .integer(let value)?: beta = Double(value)
        default: throw .badReport("'beta' is not a number")
        }
        let layers = try ints(json["layers"], "layers")
        let heads = try int(json["heads"], "heads")
        guard heads > 0, heads < 4096, !layers.isEmpty else { throw .badReport("'heads' or 'layers' out of range") }
        guard case .array(let entries)? = try field(json["statistics"], "statistics")["layers"], entries.count == layers.count else {
            throw .badReport("'statistics.layers' does not match 'layers'")
        }
        var sums: [[Int]] = [], wins: [[Int]] = [], noWinner: [Int] = [], grouped: [[Int: [Int]]] = [], byKind: [[String: [Int]]] = []
        for entry in entries {
            let sum = try ints(entry["sum_counts"], "sum_counts"), win = try ints(entry["wins"], "wins")
            guard sum.count == heads, win.count == heads else { throw .badReport("per-head lists must have \(heads) entries") }
            sums.append(sum)
            wins.append(win)
            noWinner.append(try int(entry["no_winner"], "no_winner"))
            guard case .object(let members)? = entry["counts_by_image_tokens"] else { throw .badReport("'counts_by_image_tokens' is not an object") }
            var byTokens: [Int: [Int]] = [:]
            for (key, value) in members {
                guard let tokens = Int(key), tokens > 0 else { throw .badReport("image token count '\(key)' is not a positive integer") }
                let counts = try ints(value, "counts_by_image_tokens")
                guard counts.count == heads else { throw .badReport("per-head lists must have \(heads) entries") }
                byTokens[tokens] = counts
            }
            grouped.append(byTokens)
            // Reports written before kinds were recorded have none.
            var kinds: [String: [Int]] = [:]
            if case .object(let members)? = entry["sum_counts_by_kind"] {
                for (kind, value) in members {
                    let counts = try ints(value, "sum_counts_by_kind")
                    guard counts.count == heads else { throw .badReport("per-head lists must have \(heads) entries") }
                    kinds[kind] = counts
                }
            }
            byKind.append(kinds)
        }
        var tokensByKind: [String: Int] = [:]
        if case .object(let members)? = json["statistics"]?["image_tokens_by_kind"] {
            for (kind, value) in members { tokensByKind[kind] = try int(value, "image_tokens_by_kind") }
        }
        // Reports written before per-sample counts were recorded have none.
        var tokensBySample: [Int: Int] = [:]
        if case .array(let entries)? = json["statistics"]?["image_tokens_by_sample"] {
            for entry in entries {
                let sample = try int(entry["sample"], "image_tokens_by_sample.sample"), tokens = try int(entry["image_tokens"], "image_tokens_by_sample.image_tokens")
                guard sample >= 0, tokens >= 0 else { throw .badReport("'image_tokens_by_sample' holds a negative sample index or token count") }
                guard tokensBySample.updateValue(tokens, forKey: sample) == nil else { throw .badReport("'image_tokens_by_sample' lists sample \(sample) twice") }
            }
        }
        let samples = try int(json["samples"], "samples")
        guard case .object? = json["model"] else { throw .badReport("missing 'model'") }
        toolVersion = json["tool_version"].flatMap { if case .string(let text) = $0 { text } else { nil } } ?? "unknown"
        modelLayout = json["model"]?["layout"].flatMap { if case .string(let text) = $0 { text } else { nil } } ?? "unknown"
        modelPath = json["model"]?["path"].flatMap { if case .string(let text) = $0 { text } else { nil } } ?? ""
        modelDigest = json["model"]?["digest"].flatMap { if case .string(let text) = $0 { text } else { nil } } ?? ""
        self.beta = beta
        dataDigests = try strings(json["data_digests"], "data_digests")
        shards = try strings(json["shards"], "shards")
        statistics = CalibrationStatistics(layers: layers, headCount: heads, sampleCount: samples, sumCounts: sums,
                                           countsByImageTokens: grouped, wins: wins, noWinner: noWinner,
                                           sumCountsByKind: byKind, imageTokensByKind: tokensByKind, imageTokensBySample: tokensBySample)
    }

    /// Reads a report file.
    public static func read(_ path: String) throws(CheckpointError) -> CalibrationReport {
        let file = try MappedFile(path: path)
        return try withExtendedLifetime(file) { () throws(CheckpointError) -> CalibrationReport in
            do {
                return try CalibrationReport(json: try JSONParser.parse(file.bytes))
            } catch let problem as JSONProblem {
                throw CheckpointError(path: path, problem: problem)
            } catch let problem as CalibrationProblem {
                throw CheckpointError(path: path, problem: problem)
            } catch {
                throw CheckpointError(path: path, problem: CalibrationProblem.badReport("\(error)"))
            }
        }
    }
}
