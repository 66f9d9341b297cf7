import EAHModel

/// The one attention hook EAH needs: it counts vision sinks at prefill (for calibration and
/// for dynamic selection) and broadcasts the chosen head's probabilities over the target heads.
///
/// Give it patches to broadcast, and/or `observedLayers` to record sink counts without
/// changing anything (calibration). Counts and choices of the last prefill are kept in
/// `sinkCounts` and `chosenHeads` until the next prefill. Counting uses each layer's own
/// probabilities before that layer's broadcast.
public final class EAHAttentionHook: AttentionHook {
    public let patches: [Int: EAHLayerPatch]
    /// Layers whose sink counts are recorded without a broadcast.
    public let observedLayers: Set<Int>
    /// β for observed layers without a patch.
    public let observationBeta: Double
    /// Prefill sink counts per layer (patched dynamic layers and observed layers).
    public private(set) var sinkCounts: [Int: [Int]] = [:]
    /// The head broadcast at each patched layer in the last prefill (absent: none chosen).
    public private(set) var chosenHeads: [Int: Int] = [:]

    public init(patches: [EAHLayerPatch], observedLayers: Set<Int> = [], observationBeta: Double = 0.002) {
        self.patches = Dictionary(patches.map { ($0.layer, $0) }, uniquingKeysWith: { _, last in last })
        self.observedLayers = observedLayers
        self.observationBeta = observationBeta
    }

    public func wants(layer: Int, phase: AttentionPhase) -> Bool {
        if let patch = patches[layer] { return phase == .prefill || patch.phase == .all }
        return phase == .prefill && observedLayers.contains(layer)
    }

    /// Static patches on layers that are not also observed: the attention code computes the
    /// fixed head's map once and gives it to every target head.
    public func sharedMap(layer: Int, phase: AttentionPhase) -> (head: Int, targets: [Int]?)? {
        guard let patch = patches[layer], case .fixed(let head) = patch.selection, !observedLayers.contains(layer),
              phase == .prefill || patch.phase == .all else { return nil }
        return (head, patch.targetHeads)
    }

    public func attention(_ probabilities: AttentionProbabilities, context: AttentionContext) {
        let layer = context.layer
        if context.phase == .prefill {
            // Layers run in order, so the first hooked layer of a prefill starts a new input.
            if layer == firstHookedLayer {
                sinkCounts = [:]
                chosenHeads = [:]
            }
            let patch = patches[layer]
            let needsCounts = observedLayers.contains(layer) || patch.map { $0.selection == .dynamic } ?? false
            if needsCounts {
                let beta = patch?.beta ?? observationBeta
                sinkCounts[layer] = SinkCounter.counts(probabilities, imagePositions: context.imagePositions, beta: beta, queryStart: context.queryStart)
            }
            guard let patch else { return }
            switch patch.selection {
            case .fixed(let head): chosenHeads[layer] = head
            case .dynamic: chosenHeads[layer] = sinkCounts[layer].flatMap(SinkCounter.densestHead)
            }
        }
        guard let patch = patches[layer], let head = chosenHeads[layer], head < probabilities.headCount else { return }
        Self.broadcast(head, over: patch.targetHeads ?? Array(0..<probabilities.headCount), in: probabilities)
    }

    /// Copies head `source`'s matrix over each of `targets`.
    public static func broadcast(_ source: Int, over targets: [Int], in probabilities: AttentionProbabilities) {
        let matrix = probabilities.head(source)
        for target in targets where target != source && target < probabilities.headCount {
            probabilities.head(target).baseAddress!.update(from: matrix.baseAddress!, count: matrix.count)
        }
    }

    private var firstHookedLayer: Int {
        min(patches.keys.min() ?? Int.max, observedLayers.min() ?? Int.max)
    }
}
