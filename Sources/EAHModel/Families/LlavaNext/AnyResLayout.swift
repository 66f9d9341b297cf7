/// A picture's size in pixels.
public struct ImageSize: Sendable, Equatable, Hashable {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }
}

/// LLaVA-NeXT's and OneVision's "anyres" settings: the tile resolutions an image may be fitted to
/// and OneVision's `anyres_max_N` shrink. Features are packed as transformers does
/// (`spatial_unpad`: the tile grid cropped back to the image's aspect, shrunk under `maxTiles`,
/// one `image_newline` after each row).
public struct AnyResConfig: Sendable, Equatable {
    /// `image_grid_pinpoints`, each (height, width), multiples of the tower's image size.
    public var pinpoints: [ImageSize]
    /// OneVision's `anyres_max_N`: when the unpadded grid holds more than about N tiles' features
    /// (`√(rows·columns / (N·grid²)) > 1.1`), it is shrunk bilinearly before the newlines are added.
    /// nil: never shrunk (NeXT).
    public var maxTiles: Int?
    public var packing: AnyResPacking

    public init(pinpoints: [ImageSize], maxTiles: Int? = nil, packing: AnyResPacking = .spatialUnpad) {
        self.pinpoints = pinpoints
        self.maxTiles = maxTiles
        self.packing = packing
    }

    /// transformers' `LlavaNextConfig` default.
    public static let defaultPinpoints = [(336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008)].map { ImageSize(height: $0.0, width: $0.1) }
}

/// How a runtime lays out an anyres image's features.
public enum AnyResPacking: Sendable, Equatable {
    /// transformers and the original LLaVA (`mm_patch_merge_type: spatial_unpad`): the base image's
    /// features, then the tile grid cropped to the image's aspect, one `image_newline` per row.
    case spatialUnpad
    /// llama.cpp (tools/mtmd, llava_uhd with pinpoints): an image no larger than a tile on both sides
    /// is the overview alone; otherwise the best pinpoint's slices row-major, each tile's features
    /// whole, then the overview (the image squashed to one tile). No unpad, no newline; the
    /// geometry in Float as llama.cpp computes it.
    case llamaCppSlices
}

/// How one image becomes LLaVA-NeXT's (or OneVision's) tiles and image positions, as
/// transformers' `LlavaNextImageProcessorPil` / `LlavaOnevisionImageProcessorPil` and
/// `pack_image_features` do it: the best pinpoint for the image, its tiles (row-major, after the
/// base image), and the packed feature grid.
public struct AnyResLayout: Sendable, Equatable {
    public let image: ImageSize
    /// The pinpoint the image is resized (aspect kept) and padded to.
    public let resolution: ImageSize
    /// Tiles of the resolution: rows × columns, each `tile` pixels square.
    public let tileRows: Int
    public let tileColumns: Int
    /// Features per tile side (tile size / patch size).
    public let grid: Int
    /// The kept part of the tile grid's features: rows `rowOffset..<rowOffset + featureRows`,
    /// columns `columnOffset..<columnOffset + featureColumns` of the `grid·tileRows ×
    /// grid·tileColumns` grid.
    public let rowOffset: Int
    public let featureRows: Int
    public let columnOffset: Int
    public let featureColumns: Int
    /// The packed grid: the kept part, or its bilinear shrink under `maxTiles` (then smaller).
    public let packedRows: Int
    public let packedColumns: Int

    public let packing: AnyResPacking

    public init(image: ImageSize, config: AnyResConfig, tile: Int, patch: Int) {
        self.image = image
        packing = config.packing
        if packing == .llamaCppSlices {
            grid = tile / patch
            let sliced = image.width > tile || image.height > tile
            resolution = sliced ? Self.llamaCppBestResolution(for: image, among: config.pinpoints) : ImageSize(height: tile, width: tile)
            tileRows = sliced ? resolution.height / tile : 0
            tileColumns = sliced ? resolution.width / tile : 0
            (rowOffset, columnOffset, featureRows, featureColumns) = (0, 0, 0, 0)
            (packedRows, packedColumns) = (0, 0)
            return
        }
        resolution = Self.bestResolution(for: image, among: config.pinpoints)
        tileRows = resolution.height / tile
        tileColumns = resolution.width / tile
        grid = tile / patch
        var rows = grid * tileRows, columns = grid * tileColumns, rowOffset = 0, columnOffset = 0
        // unpad_image: crop the grid back to the image's aspect ratio.
        let imageAspect = Double(image.width) / Double(image.height), gridAspect = Double(columns) / Double(rows)
        if imageAspect > gridAspect {
            let kept = Int(Self.round7(Double(image.height) * (Double(columns) / Double(image.width))))
            rowOffset = (rows - kept) / 2
            rows -= 2 * rowOffset
        } else {
            let kept = Int(Self.round7(Double(image.width) * (Double(rows) / Double(image.height))))
            columnOffset = (columns - kept) / 2
            columns -= 2 * columnOffset
        }
        self.rowOffset = rowOffset
        self.columnOffset = columnOffset
        featureRows = rows
        featureColumns = columns
        // anyres_max_N (transformers' pack_image_features): shrink to ⌊rows / r⌋ × ⌊columns / r⌋.
        var ratio = 0.0
        if let maxTiles = config.maxTiles { ratio = (Double(rows * columns) / Double(maxTiles * grid * grid)).squareRoot() }
        if ratio > 1.1 {
            packedRows = Int(FeatureGridResize.pythonFloorDivide(Double(rows), ratio))
            packedColumns = Int(FeatureGridResize.pythonFloorDivide(Double(columns), ratio))
        } else {
            packedRows = rows
            packedColumns = columns
        }
    }

    /// Whether `maxTiles` shrinks the kept grid.
    public var isShrunk: Bool { packedRows != featureRows || packedColumns != featureColumns }

    /// Pixel tiles: the base image, then the resolution's tiles row-major (llama.cpp: the slices
    /// row-major, then the overview).
    public var tileCount: Int { 1 + tileRows * tileColumns }

    /// The kinds of the image's positions: the base image's features, then each packed row of
    /// tile features followed by one newline (llama.cpp: each slice's features, then the overview's).
    public var kinds: [ImagePositionKind] {
        if packing == .llamaCppSlices {
            return [ImagePositionKind](repeating: .tile, count: tileRows * tileColumns * grid * grid)
                + [ImagePositionKind](repeating: .base, count: grid * grid)
        }
        var kinds = [ImagePositionKind](repeating: .base, count: grid * grid)
        let row = [ImagePositionKind](repeating: .tile, count: packedColumns) + [.newline]
        for _ in 0..<packedRows { kinds += row }
        return kinds
    }

    /// For each tile position in packing order (after the base features, newlines left out): the
    /// tile index (1-based: 0 is the base) and the feature index inside the tile.
    public var tileFeatureOrder: [(tile: Int, feature: Int)] {
        var order: [(Int, Int)] = []
        order.reserveCapacity(featureRows * featureColumns)
        for row in rowOffset..<(rowOffset + featureRows) {
            for column in columnOffset..<(columnOffset + featureColumns) {
                let tile = 1 + (row / grid) * tileColumns + column / grid
                order.append((tile, (row % grid) * grid + column % grid))
            }
        }
        return order
    }

    /// transformers' `select_best_resolution`: the pinpoint keeping the most of the image's
    /// pixels after an aspect-preserving downscale, ties to the least wasted area.
    public static func bestResolution(for image: ImageSize, among pinpoints: [ImageSize]) -> ImageSize {
        var best = pinpoints.first ?? image
        var bestEffective = 0, leastWasted = Int.max
        for candidate in pinpoints {
            let scale = min(Double(candidate.width) / Double(image.width), Double(candidate.height) / Double(image.height))
            let width = Int(Double(image.width) * scale), height = Int(Double(image.height) * scale)
            let effective = min(width * height, image.width * image.height)
            let wasted = candidate.width * candidate.height - effective
            if effective > bestEffective || effective == bestEffective && wasted < leastWasted {
                bestEffective = effective
                leastWasted = wasted
                best = candidate
            }
        }
        return best
    }

    /// llama.cpp's `select_best_resolution` (mtmd-image.cpp): as transformers', in Float.
    public static func llamaCppBestResolution(for image: ImageSize, among pinpoints: [ImageSize]) -> ImageSize {
        var best = ImageSize(height: 0, width: 0)
        var bestEffective = 0, leastWasted = Int.max
        for pinpoint in pinpoints {
            let width = pinpoint.width, height = pinpoint.height
            let scale = min(Float(width) / Float(image.width), Float(height) / Float(image.height))
            let effective = min(Int(Float(image.width) * scale) * Int(Float(image.height) * scale), image.width * image.height)
            let wasted = width * height - effective
            if effective > bestEffective || effective == bestEffective && wasted < leastWasted {
                bestEffective = effective
                leastWasted = wasted
                best = ImageSize(height: height, width: width)
            }
        }
        return best
    }

    /// llama.cpp's `img_tool::resize` with `PAD_CEIL`: the aspect-kept size inside `target` (Float
    /// scale, rounded up, clamped).
    public static func llamaCppResizedSize(of image: ImageSize, into target: ImageSize) -> ImageSize {
        let scale = min(Float(target.width) / Float(image.width), Float(target.height) / Float(image.height))
        return ImageSize(height: min(Int((Float(image.height) * scale).rounded(.up)), target.height),
                         width: min(Int((Float(image.width) * scale).rounded(.up)), target.width))
    }

    /// transformers' `get_patch_output_size`: the aspect-preserving size inside `target`.
    public static func resizedSize(of image: ImageSize, into target: ImageSize) -> ImageSize {
        let scaleWidth = Double(target.width) / Double(image.width), scaleHeight = Double(target.height) / Double(image.height)
        if scaleWidth < scaleHeight {
            return ImageSize(height: min(Int((Double(image.height) * scaleWidth).rounded(.up)), target.height), width: target.width)
        }
        return ImageSize(height: target.height, width: min(Int((Double(image.width) * scaleHeight).rounded(.up)), target.width))
    }

    /// Python's `round(x, 7)` for the positive values `unpad_image` rounds.
    static func round7(_ x: Double) -> Double { (x * 1e7).rounded() / 1e7 }
}
