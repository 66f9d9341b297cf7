import EAHCheckpoint

/// transformers' `GotOcr2ImageProcessorPil` as InternVL uses it (`crop_to_patches`): the tile
/// grid (columns × rows, `minPatches...maxPatches` tiles) whose aspect is closest to the image's
/// (ties go to the larger grid while the image's area exceeds half the grid's), a Pillow squash of
/// the whole image to that grid, its tiles row-major, then (with more than one tile) the image
/// squashed to one tile as a thumbnail; each tile rescaled and normalised with the model's mean
/// and std, channel-planar.
public struct GotOcr2ImageProcessor: Sendable, Equatable {
    /// Flags, resampling, rescale factor, mean and std; `size` is the tile size.
    public var base: PreprocessorConfig
    public var cropToPatches = false
    public var minPatches = 1
    public var maxPatches = 12

    /// Tiles of one image, each `3 × tileHeight × tileWidth` channel-planar, concatenated.
    public struct Output: Sendable, Equatable {
        public var values: [Float]
        public var tileCount: Int
    }

    /// The class defaults (384² tiles, CLIP's mean and std, no cropping).
    public init() {
        base = PreprocessorConfig()
        base.doCenterCrop = false
        base.size = .exact(height: 384, width: 384)
    }

    /// Settings from a parsed image processor configuration.
    public init(json: JSONValue) throws(PreprocessorProblem) {
        guard case .object(let members) = json else { throw .notAnObject }
        let own: Set<String> = ["crop_to_patches", "min_patches", "max_patches", "do_center_crop", "crop_size"]
        self.init()
        var settings = members.filter { !own.contains($0.0) }
        if json["size"] == nil { settings.append(("size", .object([("height", .integer(384)), ("width", .integer(384))]))) }
        base = try PreprocessorConfig(json: .object(settings))
        base.doCenterCrop = false
        guard case .exact = base.size else { throw .invalidValue(key: "size", expected: "{\"height\": h, \"width\": w} (the tile size)") }
        if let value = json["crop_to_patches"], value != .null {
            guard case .bool(let flag) = value else { throw .invalidValue(key: "crop_to_patches", expected: "true or false") }
            cropToPatches = flag
        }
        func count(_ key: String) throws(PreprocessorProblem) -> Int? {
            guard let value = json[key], value != .null else { return nil }
            guard case .integer(let n) = value, (1...64).contains(n) else { throw .invalidValue(key: key, expected: "an integer in 1...64") }
            return n
        }
        minPatches = try count("min_patches") ?? minPatches
        maxPatches = try count("max_patches") ?? maxPatches
        guard minPatches <= maxPatches else { throw .invalidValue(key: "min_patches", expected: "at most max_patches (\(maxPatches))") }
    }

    /// Reads `preprocessor_config.json`, else `processor_config.json`'s `image_processor`, in
    /// `folder`; `cropToPatches` defaults to true there, as `InternVLProcessor` passes it.
    public init(folder: String, processorDefaultCrop: Bool = true) throws(CheckpointError) {
        var path = folder + "/preprocessor_config.json"
        var section: String? = nil
        if (try? MappedFile(path: path)) == nil {
            path = folder + "/processor_config.json"
            section = "image_processor"
        }
        let file = try MappedFile(path: path)
        var json: JSONValue
        do throws(JSONProblem) {
            json = try withExtendedLifetime(file) { () throws(JSONProblem) in try JSONParser.parse(file.bytes) }
        } catch { throw CheckpointError(path: path, problem: error) }
        if let section {
            guard let value = json[section] else { throw CheckpointError(path: path, problem: PreprocessorProblem.missingKey(section)) }
            json = value
        }
        do throws(PreprocessorProblem) {
            try self.init(json: json)
            if json["crop_to_patches"] == nil { cropToPatches = processorDefaultCrop }
        } catch { throw CheckpointError(path: path, problem: error) }
    }

    public var tileSize: (height: Int, width: Int) {
        if case .exact(let height, let width) = base.size { return (height, width) }
        return (384, 384)
    }

    /// `get_optimal_tiled_canvas`: (columns, rows) of the grid for an image of `height × width`.
    public static func tileGrid(height: Int, width: Int, tile: (height: Int, width: Int), minPatches: Int, maxPatches: Int) -> (columns: Int, rows: Int) {
        var grids: [(Int, Int)] = []
        for columns in 1...maxPatches {
            for rows in 1...maxPatches where (minPatches...maxPatches).contains(columns * rows) { grids.append((columns, rows)) }
        }
        // Python's sort is stable: by tile count, then in generation order.
        grids = grids.enumerated().sorted { ($0.element.0 * $0.element.1, $0.offset) < ($1.element.0 * $1.element.1, $1.offset) }.map(\.element)
        let aspect = Double(width) / Double(height), area = Double(width * height)
        var best = (1, 1), bestDifference = Double.infinity
        for (columns, rows) in grids {
            let difference = abs(aspect - Double(columns) / Double(rows))
            if difference < bestDifference {
                bestDifference = difference
                best = (columns, rows)
            } else if difference == bestDifference, area > 0.5 * Double(tile.height * tile.width * columns * rows) {
                best = (columns, rows)
            }
        }
        return best
    }

    public func preprocess(_ image: RGBImage) -> Output {
        let rgb = base.doConvertRGB ? image.compositedOnWhite() : image
        let tile = tileSize, normalizer = CLIPPreprocessor(config: base)
        var tiles: [RGBImage] = []
        if cropToPatches && maxPatches > 1 {
            let grid = Self.tileGrid(height: rgb.height, width: rgb.width, tile: tile, minPatches: minPatches, maxPatches: maxPatches)
            let canvas = PILResampler.resize(rgb, width: tile.width * grid.columns, height: tile.height * grid.rows, filter: base.resample)
            for index in 0..<(grid.columns * grid.rows) {
                let column = index % grid.columns, row = index / grid.columns
                var pixels = [UInt8](repeating: 0, count: 3 * tile.width * tile.height)
                for y in 0..<tile.height {
                    let source = 3 * ((row * tile.height + y) * canvas.width + column * tile.width)
                    for x in 0..<(3 * tile.width) { pixels[3 * y * tile.width + x] = canvas.pixels[source + x] }
                }
                tiles.append(RGBImage(width: tile.width, height: tile.height, pixels: pixels)!)
            }
            if tiles.count != 1 { tiles.append(PILResampler.resize(rgb, width: tile.width, height: tile.height, filter: base.resample)) }
        } else {
            tiles.append(base.doResize ? PILResampler.resize(rgb, width: tile.width, height: tile.height, filter: base.resample) : rgb)
        }
        return Output(values: tiles.flatMap { normalizer.normalized($0).values }, tileCount: tiles.count)
    }
}
