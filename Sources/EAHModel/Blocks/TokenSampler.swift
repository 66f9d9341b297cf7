import EAHCore

/// Picks tokens from logits in transformers' order: repetition penalty, then greedy, or
/// temperature, top-k, top-p and min-p with a seeded generator, so a seed always gives the same
/// tokens.
struct TokenSampler {
    let parameters: SamplingParameters
    private var state: UInt64
    /// The tokens chosen so far (for the repetition penalty).
    private var generated: Set<Int> = []

    init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        state = parameters.seed
    }

    mutating func next(_ logits: UnsafeBufferPointer<Float>) -> Int {
        guard parameters.repeatPenalty != 1, !generated.isEmpty else { return record(choose(logits)) }
        var penalised = Array(logits)
        for token in generated where penalised.indices.contains(token) {
            let value = penalised[token]
            penalised[token] = value > 0 ? value / parameters.repeatPenalty : value * parameters.repeatPenalty
        }
        return record(penalised.withUnsafeBufferPointer { choose($0) })
    }

    private mutating func record(_ token: Int) -> Int {
        if parameters.repeatPenalty != 1 { generated.insert(token) }
        return token
    }

    private mutating func choose(_ logits: UnsafeBufferPointer<Float>) -> Int {
        guard parameters.temperature > 0 else { return Self.argmax(logits) }
        var maximum = -Float.infinity
        for value in logits where value > maximum { maximum = value }
        var weights = logits.map { Double(expf(($0 - maximum) / parameters.temperature)) }
        var total = weights.reduce(0, +)
        var order = Array(weights.indices).sorted { weights[$0] > weights[$1] || weights[$0] == weights[$1] && $0 < $1 }
        if parameters.topK > 0, parameters.topK < order.count {
            for index in order[parameters.topK...] { weights[index] = 0 }
            order = Array(order[..<parameters.topK])
            total = order.reduce(0.0) { $0 + weights[$1] }
        }
        if parameters.topP < 1 {
            var cumulative = 0.0
            var kept = 0
            for index in order {
                cumulative += weights[index] / total
                kept += 1
                if cumulative >= Double(parameters.topP) { break }
            }
            for index in order[kept...] { weights[index] = 0 }
            order = Array(order[..<kept])
        }
        if parameters.minP > 0, let top = order.first {
            // transformers' MinPLogitsWarper: relative to the most likely token, after temperature.
            let floor = weights[top] * Double(parameters.minP)
            order = order.filter { weights[$0] >= floor }
        }
        let keptTotal = order.reduce(0.0) { $0 + weights[$1] }
        var target = uniform() * keptTotal
        for index in order {
            target -= weights[index]
            if target < 0 { return index }
        }
        return order.last ?? 0
    }

    static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for index in logits.indices where logits[index] > logits[best] { best = index }
        return best
    }

    /// A uniform double in [0, 1) from SplitMix64.
    private mutating func uniform() -> Double {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }
}
