/// How EAH changes one decoder layer (one entry of the manifest's patched layers).
public struct EAHLayerPatch: Sendable, Equatable {
    /// How the broadcast head is chosen.
    public enum Selection: Sendable, Equatable {
        /// Per input, at prefill, from that input's sink counts (the paper's behaviour).
        case dynamic
        /// Fixed (from calibration): broadcast whatever the counts.
        case fixed(head: Int)
    }

    /// When the broadcast applies.
    public enum Phase: String, Sendable, Equatable, CaseIterable {
        /// Prefill only; decode steps and the KV cache are untouched.
        case prefill
        /// Decode steps also use the chosen head's attention row.
        case all
    }

    public var layer: Int
    public var selection: Selection
    /// The sink threshold β (used by dynamic selection, and recorded for static).
    public var beta: Double
    public var phase: Phase
    /// Heads that receive the chosen map; nil means every head.
    public var targetHeads: [Int]?

    public init(layer: Int, selection: Selection, beta: Double = 0.002, phase: Phase = .prefill, targetHeads: [Int]? = nil) {
        self.layer = layer
        self.selection = selection
        self.beta = beta
        self.phase = phase
        self.targetHeads = targetHeads
    }
}
