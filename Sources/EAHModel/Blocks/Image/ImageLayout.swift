/// What an image-feature position of a prompt holds.
public enum ImagePositionKind: String, Sendable, Equatable, CaseIterable {
    /// The whole image at the tower's resolution (LLaVA-1.5's only kind; NeXT's base image).
    case base
    /// A feature of a high-resolution tile.
    case tile
    /// A learned separator ending a row of tile features (NeXT's `image_newline`).
    case newline
    /// A downscaled overview after the tiles (InternVL).
    case thumbnail
}

/// The positions of a prompt that hold image features, as the family's processor lays them out:
/// runs of consecutive positions, each position with its kind.
///
/// EAH's image columns are exactly these positions (newline rows included, as transformers fills
/// them with features); `kinds` lets reports tell them apart. Features are given in layout order
/// (runs in order, positions ascending).
public struct ImageLayout: Sendable, Equatable {
    public struct Run: Sendable, Equatable {
        /// The first position of the run.
        public var start: Int
        /// One kind per position, `start..<start + kinds.count`.
        public var kinds: [ImagePositionKind]

        public init(start: Int, kinds: [ImagePositionKind]) {
            self.start = start
            self.kinds = kinds
        }

        public var positions: Range<Int> { start..<(start + kinds.count) }
    }

    public var runs: [Run]
    /// The source picture's size, for families whose features depend on it (NeXT's tiling).
    public var imageSize: ImageSize?

    public init(runs: [Run] = [], imageSize: ImageSize? = nil) {
        self.runs = runs
        self.imageSize = imageSize
    }

    /// Every image position, ascending.
    public var positions: [Int] { runs.flatMap { Array($0.positions) } }

    /// Every image position's kind, in `positions` order.
    public var kinds: [ImagePositionKind] { runs.flatMap(\.kinds) }

    /// How many positions hold image features.
    public var count: Int { runs.reduce(0) { $0 + $1.kinds.count } }

    /// The layout of the positions from `position` on, renumbered from 0 (a prompt whose first
    /// `position` positions come from a cache).
    public func suffix(from position: Int) -> ImageLayout {
        ImageLayout(runs: runs.compactMap { run in
            let dropped = max(0, position - run.start)
            guard dropped < run.kinds.count else { return nil }
            return Run(start: run.start + dropped - position, kinds: Array(run.kinds[dropped...]))
        }, imageSize: imageSize)
    }

    /// Positions per kind (kinds absent from the layout are left out).
    public var countsByKind: [ImagePositionKind: Int] {
        var counts: [ImagePositionKind: Int] = [:]
        for run in runs { for kind in run.kinds { counts[kind, default: 0] += 1 } }
        return counts
    }
}
