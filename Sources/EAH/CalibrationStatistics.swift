/// Sufficient statistics of sink counts over a calibration set, for some layers: everything a
/// report needs, kept as integers so shards merge exactly.
///
/// Per layer and head: the sum of sink counts, the sum of counts grouped by the sample's
/// number of image tokens (for the mean density), and the number of samples the head won;
/// per layer, the samples with no winner.
public struct CalibrationStatistics: Sendable, Equatable {
    public let layers: [Int]
    public let headCount: Int
    public private(set) var sampleCount = 0
    /// [layer index][head]
    public private(set) var sumCounts: [[Int]]
    /// [layer index][image token count] → per-head sums of counts.
    public private(set) var countsByImageTokens: [[Int: [Int]]]
    /// [layer index][head]
    public private(set) var wins: [[Int]]
    /// [layer index]
    public private(set) var noWinner: [Int]
    /// [layer index][kind] → per-head sums of counts at image positions of that kind.
    public private(set) var sumCountsByKind: [[String: [Int]]]
    /// Image positions per kind over every sample.
    public private(set) var imageTokensByKind: [String: Int]
    /// Each sample's image positions, by the sample's index in the calibration data (families
    /// that read images at their own resolution give every sample its own count).
    public private(set) var imageTokensBySample: [Int: Int] = [:]

    public init(layers: [Int], headCount: Int) {
        self.layers = layers
        self.headCount = headCount
        sumCounts = layers.map { _ in [Int](repeating: 0, count: headCount) }
        countsByImageTokens = layers.map { _ in [:] }
        wins = layers.map { _ in [Int](repeating: 0, count: headCount) }
        noWinner = layers.map { _ in 0 }
        sumCountsByKind = layers.map { _ in [:] }
        imageTokensByKind = [:]
    }

    /// Rebuilds statistics from their parts (a report being read back).
    public init(layers: [Int], headCount: Int, sampleCount: Int, sumCounts: [[Int]], countsByImageTokens: [[Int: [Int]]], wins: [[Int]], noWinner: [Int],
                sumCountsByKind: [[String: [Int]]]? = nil, imageTokensByKind: [String: Int] = [:], imageTokensBySample: [Int: Int] = [:]) {
        self.sumCountsByKind = sumCountsByKind ?? layers.map { _ in [:] }
        self.imageTokensByKind = imageTokensByKind
        self.imageTokensBySample = imageTokensBySample
        self.layers = layers
        self.headCount = headCount
        self.sampleCount = sampleCount
        self.sumCounts = sumCounts
        self.countsByImageTokens = countsByImageTokens
        self.wins = wins
        self.noWinner = noWinner
    }

    /// Adds one sample: its sink counts per layer (in `layers` order) and its image token count;
    /// optionally the counts split by the kind of the sink column, its positions per kind, and
    /// its index in the calibration data (`sample`).
    public mutating func add(counts: [[Int]], imageTokens: Int, countsByKind: [[String: [Int]]] = [], imageTokensByKind: [String: Int] = [:],
                             sample: Int? = nil) {
        sampleCount += 1
        if let sample { imageTokensBySample[sample] = imageTokens }
        for (index, byKind) in countsByKind.enumerated() where index < layers.count {
            for (kind, counts) in byKind {
                let mine = sumCountsByKind[index][kind] ?? [Int](repeating: 0, count: headCount)
                sumCountsByKind[index][kind] = zip(mine, counts).map(+)
            }
        }
        for (kind, tokens) in imageTokensByKind { self.imageTokensByKind[kind, default: 0] += tokens }
        for (index, layerCounts) in counts.enumerated() {
            var grouped = countsByImageTokens[index][imageTokens] ?? [Int](repeating: 0, count: headCount)
            for head in 0..<headCount {
                sumCounts[index][head] += layerCounts[head]
                grouped[head] += layerCounts[head]
            }
            countsByImageTokens[index][imageTokens] = grouped
            if let winner = SinkCounter.densestHead(layerCounts) { wins[index][winner] += 1 } else { noWinner[index] += 1 }
        }
    }

    /// Whether `other` covers the same layers and heads, so the two can be merged.
    public func isCompatible(with other: CalibrationStatistics) -> Bool {
        layers == other.layers && headCount == other.headCount
    }

    /// The statistics of both sample sets together (exact: integer sums).
    public func merged(with other: CalibrationStatistics) -> CalibrationStatistics {
        var result = self
        result.sampleCount += other.sampleCount
        result.imageTokensBySample.merge(other.imageTokensBySample) { mine, _ in mine }
        for index in layers.indices {
            for head in 0..<headCount {
                result.sumCounts[index][head] += other.sumCounts[index][head]
                result.wins[index][head] += other.wins[index][head]
            }
            result.noWinner[index] += other.noWinner[index]
            for (tokens, sums) in other.countsByImageTokens[index] {
                let mine = result.countsByImageTokens[index][tokens] ?? [Int](repeating: 0, count: headCount)
                result.countsByImageTokens[index][tokens] = zip(mine, sums).map(+)
            }
            for (kind, sums) in other.sumCountsByKind[index] {
                let mine = result.sumCountsByKind[index][kind] ?? [Int](repeating: 0, count: headCount)
                result.sumCountsByKind[index][kind] = zip(mine, sums).map(+)
            }
        }
        for (kind, tokens) in other.imageTokensByKind { result.imageTokensByKind[kind, default: 0] += tokens }
        return result
    }

    /// What the report shows for each layer.
    public var summary: [LayerSummary] {
        layers.indices.map { index in
            let n = Double(max(sampleCount, 1))
            let meanCounts = sumCounts[index].map { Double($0) / n }
            var densitySums = [Double](repeating: 0, count: headCount)
            for tokens in countsByImageTokens[index].keys.sorted() where tokens > 0 {
                for head in 0..<headCount { densitySums[head] += Double(countsByImageTokens[index][tokens]![head]) / Double(tokens) }
            }
            let layerWins = wins[index]
            var chosen: Int?
            for head in 0..<headCount where layerWins[head] > 0 {
                guard let best = chosen else { chosen = head; continue }
                if layerWins[head] > layerWins[best] || layerWins[head] == layerWins[best] && sumCounts[index][head] > sumCounts[index][best] {
                    chosen = head
                }
            }
            return LayerSummary(
                layer: layers[index], meanSinkCount: meanCounts, sinkDensity: densitySums.map { $0 / n },
                winFrequency: layerWins.map { Double($0) / n }, chosenHead: chosen,
                agreement: chosen.map { Double(layerWins[$0]) / n } ?? 0)
        }
    }

    /// One layer of a calibration report.
    public struct LayerSummary: Sendable, Equatable {
        public let layer: Int
        /// Per head: mean number of sink columns per sample.
        public let meanSinkCount: [Double]
        /// Per head: mean of (sink count / image tokens) per sample.
        public let sinkDensity: [Double]
        /// Per head: share of samples whose densest head it is.
        public let winFrequency: [Double]
        /// The head that wins most often (ties: higher mean count, then lower index); nil when
        /// no sample had a winner.
        public let chosenHead: Int?
        /// Share of samples whose own winner is `chosenHead`.
        public let agreement: Double

        /// A summary from its parts (a manifest's calibration provenance being read back).
        public init(layer: Int, meanSinkCount: [Double], sinkDensity: [Double], winFrequency: [Double], chosenHead: Int?, agreement: Double) {
            self.layer = layer
            self.meanSinkCount = meanSinkCount
            self.sinkDensity = sinkDensity
            self.winFrequency = winFrequency
            self.chosenHead = chosenHead
            self.agreement = agreement
        }
    }
}
