import EAHModel

/// The one attention hook EAH needs: it counts vision sinks at prefill (for calibration and
/// for dynamic selection) and broadcasts the chosen head's probabilities over the target heads.
///
/// Give it patches to broadcast, and/or `observedLayers` to record sink counts without
/// changing anything (calibration). Counts and choices of the last prefill are kept in
/// `sinkCounts` and `chosenHeads` until the next prefill. Counting uses each layer's own
/// probabilities before that layer's broadcast. A static head is broadcast without computing the
/// targets' own maps unless the layer is also observed.
public final class EAHAttentionHook: AttentionHook {
    public let patches: [Int: EAHLayerPatch]
    /// Layers whose sink counts are recorded without a broadcast.
    public let observedLayers: Set<Int>
    /// β for observed layers without a patch.
    public let observationBeta: Double
    /// Prefill sink counts per layer (patched dynamic layers and observed layers).
    public private(set) var sinkCounts: [Int: [Int]] = [:]
    /// Prefill sink counts per layer split by the kind of the sink column (`base`, `tile`,
    /// `newline`, …), per head.
    public private(set) var sinkCountsByKind: [Int: [String: [Int]]] = [:]
    /// The head broadcast at each patched layer in the last prefill (absent: none chosen).
    public private(set) var chosenHeads: [Int: Int] = [:]

    public init(patches: [EAHLayerPatch], observedLayers: Set<Int> = [], observationBeta: Double = 0.002) {
        self.patches = Dictionary(patches.map { ($0.layer, $0) }, uniquingKeysWith: { _, last in last })
        self.observedLayers = observedLayers
        self.observationBeta = observationBeta
    }

    public func plan(for context: AttentionContext) -> AttentionPlan? {
        let layer = context.layer, patch = patches[layer]
        guard context.phase == .prefill else {
            // Decode: a patch with phase `all` keeps broadcasting the head chosen at prefill.
            guard let patch, patch.phase == .all, let head = chosenHeads[layer] else { return nil }
            return AttentionPlan(broadcastHead: head, broadcastTargets: patch.targetHeads)
        }
        let observed = observedLayers.contains(layer)
        guard patch != nil || observed else { return nil }
        // Layers run in order, so the first hooked layer of a prefill starts a new input.
        if layer == firstHookedLayer {
            sinkCounts = [:]
            sinkCountsByKind = [:]
            chosenHeads = [:]
        }
        var plan = AttentionPlan(broadcastTargets: patch?.targetHeads)
        if observed || patch?.selection == .dynamic { plan.countedColumns = context.imagePositions }
        if case .fixed(let head)? = patch?.selection {
            chosenHeads[layer] = head
            plan.broadcastHead = head
        }
        return plan
    }

    public func columnSums(_ sums: AttentionColumnSums, context: AttentionContext) -> Int? {
        let layer = context.layer, patch = patches[layer]
        let beta = patch?.beta ?? observationBeta
        let counts = SinkCounter.counts(sums, beta: beta)
        sinkCounts[layer] = counts
        var kindOf: [Int: ImagePositionKind] = [:]
        for (position, kind) in zip(context.imagePositions, context.imageKinds) { kindOf[position] = kind }
        sinkCountsByKind[layer] = SinkCounter.countsByKind(sums, beta: beta) { kindOf[$0]?.rawValue ?? ImagePositionKind.base.rawValue }
        guard let patch, patch.selection == .dynamic else { return nil }
        chosenHeads[layer] = SinkCounter.densestHead(counts)
        return chosenHeads[layer]
    }

    private var firstHookedLayer: Int {
        min(patches.keys.min() ?? Int.max, observedLayers.min() ?? Int.max)
    }
}
