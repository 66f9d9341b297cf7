import EAH
import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Testing

/// Calibration aggregates against the Python reference in Tests/Fixtures/eah/calibration.json.
@Suite("calibration statistics")
struct CalibrationStatisticsTests {
    struct Sample {
        let counts: [[Int]]
        let imageTokens: Int
    }

    static func document() throws -> JSONValue {
        let file = try MappedFile(path: Fixtures.path("eah/calibration.json"))
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    static func ints(_ value: JSONValue?) -> [Int] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
    }

    static func doubles(_ value: JSONValue?) -> [Double] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap {
            switch $0 { case .number(let v): v; case .integer(let v): Double(v); default: nil }
        }
    }

    static func expectSummary(_ summary: [CalibrationStatistics.LayerSummary], equals aggregate: JSONValue?) {
        guard case .array(let layers)? = aggregate else { Issue.record("no aggregate"); return }
        #expect(summary.count == layers.count)
        for (mine, theirs) in zip(summary, layers) {
            #expect([mine.layer] == ints(theirs["layer"].map { .array([$0]) }))
            #expect(zip(mine.meanSinkCount, doubles(theirs["mean_count"])).allSatisfy { abs($0 - $1) <= 1e-12 })
            #expect(zip(mine.sinkDensity, doubles(theirs["mean_density"])).allSatisfy { abs($0 - $1) <= 1e-12 })
            #expect(zip(mine.winFrequency, doubles(theirs["win_frequency"])).allSatisfy { abs($0 - $1) <= 1e-12 })
            let chosen: Int? = if case .integer(let head)? = theirs["chosen_head"] { head } else { nil }
            #expect(mine.chosenHead == chosen)
            #expect(abs(mine.agreement - (doubles(theirs["agreement"].map { .array([$0]) }).first ?? -1)) <= 1e-12)
        }
    }

    /// The samples' counts as the Swift model computes them, checked against the reference.
    static func samples() throws -> [Sample] {
        let model = LlavaModel(weights: try LlavaLoader.load(model: LlavaFixtures.path("m1-gqa-bias/hf-current")))
        let reference = try document()
        guard case .number(let beta)? = reference["beta"], case .array(let entries)? = reference["samples"] else {
            Issue.record("calibration.json lacks beta or samples")
            return []
        }
        var samples: [Sample] = []
        for index in entries.indices {
            let ids = try #require(LlavaFixtures.integers("../eah/calibration.safetensors", "sample\(index)_input_ids"))
            let pixels = try #require(LlavaFixtures.floats("../eah/calibration.safetensors", "sample\(index)_pixel_values"))
            let expected = try #require(LlavaFixtures.integers("../eah/calibration.safetensors", "sample\(index)_sink_counts"))
            let hook = EAHAttentionHook(patches: [], observedLayers: [0, 1], observationBeta: beta)
            let prompt = try LlavaPrompt.fromRawIDs(ids, config: model.config)
            _ = try model.generate(prompt: prompt, pixelValues: pixels, maxTokens: 0, hook: hook)
            let counts = [hook.sinkCounts[0] ?? [], hook.sinkCounts[1] ?? []]
            #expect(counts.flatMap { $0 } == expected, "sample \(index)")
            samples.append(Sample(counts: counts, imageTokens: prompt.imagePositions.count))
        }
        return samples
    }

    @Test("the whole set, two shards and their merge equal the reference")
    func aggregates() throws {
        let samples = try Self.samples()
        #expect(samples.count == 6)
        var whole = CalibrationStatistics(layers: [0, 1], headCount: 4)
        for sample in samples { whole.add(counts: sample.counts, imageTokens: sample.imageTokens) }
        let reference = try Self.document()
        Self.expectSummary(whole.summary, equals: reference["aggregate"])
        var shards = [CalibrationStatistics(layers: [0, 1], headCount: 4), CalibrationStatistics(layers: [0, 1], headCount: 4)]
        for (index, sample) in samples.enumerated() { shards[index % 2].add(counts: sample.counts, imageTokens: sample.imageTokens) }
        guard case .array(let shardDocuments)? = reference["shards"] else { Issue.record("no shards"); return }
        for (shard, document) in zip(shards, shardDocuments) { Self.expectSummary(shard.summary, equals: document["aggregate"]) }
        let merged = shards[0].merged(with: shards[1])
        #expect(merged.summary == whole.summary)
        #expect(merged.sumCounts == whole.sumCounts && merged.wins == whole.wins && merged.noWinner == whole.noWinner)
        Self.expectSummary(merged.summary, equals: reference["merged"].flatMap { $0["aggregate"] } ?? reference["merged"])
    }

    @Test("ties: most wins, then the higher mean count, then the lower index; no winner → none")
    func tieRules() {
        var statistics = CalibrationStatistics(layers: [3], headCount: 3)
        statistics.add(counts: [[0, 2, 2]], imageTokens: 4)  // head 1 wins (lowest of the tie)
        statistics.add(counts: [[1, 0, 5]], imageTokens: 4)  // head 2 wins
        #expect(statistics.summary[0].chosenHead == 2)        // wins tie 1–1; head 2 has more counts
        var empty = CalibrationStatistics(layers: [0], headCount: 2)
        empty.add(counts: [[0, 0]], imageTokens: 4)
        #expect(empty.summary[0].chosenHead == nil)
        #expect(empty.noWinner == [1])
    }
}
