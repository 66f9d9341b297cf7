/// Where an attention computation sits: layer, phase, and the sequence's image positions.
public struct AttentionContext: Sendable {
    /// Decoder layer index (0-based).
    public let layer: Int
    public let phase: AttentionPhase
    /// Absolute position of the first query row (0 in prefill).
    public let queryStart: Int
    /// Positions that hold image features in this sequence, ascending.
    public let imagePositions: [Int]
    /// Query heads per key/value head (grouped-query attention; 1 for MHA).
    public let queriesPerKVHead: Int
    /// The kind of each image position (parallel to `imagePositions`; empty: all base features).
    public let imageKinds: [ImagePositionKind]

    public init(layer: Int, phase: AttentionPhase, queryStart: Int, imagePositions: [Int], queriesPerKVHead: Int,
                imageKinds: [ImagePositionKind] = []) {
        self.imageKinds = imageKinds
        self.layer = layer
        self.phase = phase
        self.queryStart = queryStart
        self.imagePositions = imagePositions
        self.queriesPerKVHead = queriesPerKVHead
    }
}
