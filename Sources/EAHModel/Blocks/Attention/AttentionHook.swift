/// A per-layer hook on decoder attention: the one place where calibration reads attention maps
/// and where the EAH broadcast rewrites them.
///
/// Attention runs in row blocks and never holds every head's full map, so a hook states up
/// front what it needs (`plan(for:)`): column sums of the probabilities at some columns (sink
/// counting), and a head whose map replaces other heads' maps (the broadcast). When it asked
/// for sums, `columnSums(_:context:)` gets them after the layer's rows ran and may name the
/// head to broadcast then. Hooks run on the calling thread.
public protocol AttentionHook: AnyObject {
    /// What the attention at `context` must do for this hook; nil for nothing.
    func plan(for context: AttentionContext) -> AttentionPlan?
    /// The column sums the plan asked for; returns the head to broadcast, if the plan had none.
    func columnSums(_ sums: AttentionColumnSums, context: AttentionContext) -> Int?
}

/// What a hook needs from one attention computation.
public struct AttentionPlan: Sendable, Equatable {
    /// Key columns whose probabilities, summed over the query rows after them, the hook needs
    /// for every head (computed from each head's own map, before any broadcast); nil for none.
    public var countedColumns: [Int]?
    /// The head whose probabilities replace the targets', when known before attention runs.
    public var broadcastHead: Int?
    /// Heads that take the broadcast head's map (nil: every head).
    public var broadcastTargets: [Int]?

    public init(countedColumns: [Int]? = nil, broadcastHead: Int? = nil, broadcastTargets: [Int]? = nil) {
        self.countedColumns = countedColumns
        self.broadcastHead = broadcastHead
        self.broadcastTargets = broadcastTargets
    }
}

/// Per-head sums of attention probabilities at some key columns over the query rows after them.
public struct AttentionColumnSums: Sendable, Equatable {
    /// The key columns (absolute KV indexes).
    public let columns: [Int]
    public let headCount: Int
    /// How many query rows lie after each column (the rows summed over).
    public let rowsAfter: [Int]
    /// `sums[head · columns.count + i]`: Σ over rows after `columns[i]` of `A[row, columns[i]]`,
    /// accumulated in Double, rows ascending.
    public let sums: [Double]

    public init(columns: [Int], headCount: Int, rowsAfter: [Int], sums: [Double]) {
        self.columns = columns
        self.headCount = headCount
        self.rowsAfter = rowsAfter
        self.sums = sums
    }

    /// The sum at column index `index` of `head`.
    public func sum(head: Int, column index: Int) -> Double { sums[head * columns.count + index] }
}
