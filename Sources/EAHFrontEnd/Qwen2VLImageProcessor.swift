import EAHCheckpoint

/// transformers' `Qwen2VLImageProcessorPil` (Qwen2-VL and Qwen2.5-VL): `smart_resize` to
/// multiples of `patch × merge` within `minPixels...maxPixels`, Pillow resampling (bicubic),
/// rescale and CLIP normalisation as `CLIPPreprocessor` does, then the patches flattened in the
/// order the vision encoder reads them: merge groups `(h/m, w/m, m, m)`, each patch `(channel,
/// temporal, y, x)` with the still image repeated over the `temporalPatchSize` frames.
public struct Qwen2VLImageProcessor: Sendable, Equatable {
    /// Flags, resampling, rescale factor, mean and std (`size` and crop are not used).
    public var base: PreprocessorConfig
    public var minPixels: Int = 56 * 56
    public var maxPixels: Int = 28 * 28 * 1280
    public var patchSize: Int = 14
    public var temporalPatchSize: Int = 2
    public var mergeSize: Int = 2

    /// One image's flattened patches and its grid in patches.
    public struct Output: Sendable, Equatable {
        /// `t·h·w` rows of `3·temporal·patch²` values.
        public var values: [Float]
        public var t: Int
        public var h: Int
        public var w: Int
        /// The resized image's size in pixels.
        public var height: Int
        public var width: Int
    }

    /// The class defaults.
    public init() {
        base = PreprocessorConfig()
        base.doCenterCrop = false
    }

    /// Settings from a parsed image processor configuration (`preprocessor_config.json`, or the
    /// `image_processor` section of `processor_config.json`). The pixel limits come from
    /// `size.shortest_edge`/`size.longest_edge` (transformers 5), `size.min_pixels`/
    /// `size.max_pixels`, or top-level `min_pixels`/`max_pixels`, which win as the processor's
    /// constructor lets them.
    public init(json: JSONValue) throws(PreprocessorProblem) {
        guard case .object(let members) = json else { throw .notAnObject }
        let ignored: Set<String> = ["size", "min_pixels", "max_pixels", "crop_size", "do_center_crop"]
        base = try PreprocessorConfig(json: .object(members.filter { !ignored.contains($0.0) }))
        base.doCenterCrop = false
        func integer(_ value: JSONValue?, _ key: String, range: ClosedRange<Int>) throws(PreprocessorProblem) -> Int? {
            guard let value, value != .null else { return nil }
            guard case .integer(let n) = value, range.contains(n) else {
                throw .invalidValue(key: key, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return n
        }
        let pixels = 1...(1 << 40)
        if let size = json["size"], size != .null {
            guard case .object = size else { throw .invalidValue(key: "size", expected: "{\"shortest_edge\": min pixels, \"longest_edge\": max pixels}") }
            if let value = try integer(size["min_pixels"], "size.min_pixels", range: pixels) { minPixels = value }
            if let value = try integer(size["max_pixels"], "size.max_pixels", range: pixels) { maxPixels = value }
            if let value = try integer(size["shortest_edge"], "size.shortest_edge", range: pixels) { minPixels = value }
            if let value = try integer(size["longest_edge"], "size.longest_edge", range: pixels) { maxPixels = value }
        }
        minPixels = try integer(json["min_pixels"], "min_pixels", range: pixels) ?? minPixels
        maxPixels = try integer(json["max_pixels"], "max_pixels", range: pixels) ?? maxPixels
        guard minPixels <= maxPixels else { throw .invalidValue(key: "min_pixels", expected: "at most max_pixels (\(maxPixels))") }
        let sides = 1...1024
        patchSize = try integer(json["patch_size"], "patch_size", range: sides) ?? patchSize
        temporalPatchSize = try integer(json["temporal_patch_size"], "temporal_patch_size", range: 1...16) ?? temporalPatchSize
        mergeSize = try integer(json["merge_size"], "merge_size", range: 1...16) ?? mergeSize
    }

    /// Reads `preprocessor_config.json`, else `processor_config.json`'s `image_processor`, in `folder`.
    public init(folder: String) throws(CheckpointError) {
        var path = folder + "/preprocessor_config.json"
        var section: String? = nil
        if (try? MappedFile(path: path)) == nil {
            path = folder + "/processor_config.json"
            section = "image_processor"
        }
        let file = try MappedFile(path: path)
        let json: JSONValue
        do throws(JSONProblem) {
            json = try withExtendedLifetime(file) { () throws(JSONProblem) in try JSONParser.parse(file.bytes) }
        } catch { throw CheckpointError(path: path, problem: error) }
        var settings = json
        if let section {
            guard let value = json[section] else { throw CheckpointError(path: path, problem: PreprocessorProblem.missingKey(section)) }
            settings = value
        }
        do throws(PreprocessorProblem) { try self.init(json: settings) } catch { throw CheckpointError(path: path, problem: error) }
    }

    /// transformers' `smart_resize`: both sides rounded (half to even) to multiples of
    /// `factor`; if that exceeds `maxPixels`, scaled down by √(h·w/max) and floored; if below
    /// `minPixels`, scaled up by √(min/(h·w)) and ceiled. Refuses aspect ratios above 200.
    public static func smartResize(height: Int, width: Int, factor: Int, minPixels: Int, maxPixels: Int) throws(PreprocessorProblem) -> (height: Int, width: Int) {
        guard height > 0, width > 0 else { throw .invalidValue(key: "image", expected: "a non-empty image") }
        let h = Double(height), w = Double(width), f = Double(factor)
        guard max(h, w) / min(h, w) <= 200 else {
            throw .unsupported(key: "image", detail: "an aspect ratio above 200 (\(width)×\(height))")
        }
        var hBar = Int((h / f).rounded(.toNearestOrEven)) * factor
        var wBar = Int((w / f).rounded(.toNearestOrEven)) * factor
        if hBar * wBar > maxPixels {
            let beta = (h * w / Double(maxPixels)).squareRoot()
            hBar = max(factor, Int((h / beta / f).rounded(.down)) * factor)
            wBar = max(factor, Int((w / beta / f).rounded(.down)) * factor)
        } else if hBar * wBar < minPixels {
            let beta = (Double(minPixels) / (h * w)).squareRoot()
            hBar = Int((h * beta / f).rounded(.up)) * factor
            wBar = Int((w * beta / f).rounded(.up)) * factor
        }
        return (hBar, wBar)
    }

    /// Decodes the image at `path` and preprocesses it.
    public func preprocess(path: String, decoder: ImageDecoder = ImageDecoder()) throws(CheckpointError) -> Output {
        let image = try decoder.decode(path: path)
        do throws(PreprocessorProblem) { return try preprocess(image) } catch { throw CheckpointError(path: path, problem: error) }
    }

    /// The patches and grid of `image`.
    public func preprocess(_ image: RGBImage) throws(PreprocessorProblem) -> Output {
        var current = base.doConvertRGB ? image.compositedOnWhite() : image
        if base.doResize {
            let size = try Self.smartResize(height: current.height, width: current.width, factor: patchSize * mergeSize,
                                            minPixels: minPixels, maxPixels: maxPixels)
            current = PILResampler.resize(current, width: size.width, height: size.height, filter: base.resample)
        }
        guard current.height % (patchSize * mergeSize) == 0, current.width % (patchSize * mergeSize) == 0 else {
            throw .invalidValue(key: "do_resize", expected: "true for images whose sides are not multiples of patch_size × merge_size")
        }
        let planar = CLIPPreprocessor(config: base).normalized(current)
        let height = current.height, width = current.width, p = patchSize, m = mergeSize, frames = temporalPatchSize
        let gh = height / p, gw = width / p, rowLength = 3 * frames * p * p
        var values = [Float](repeating: 0, count: gh * gw * rowLength)
        planar.values.withUnsafeBufferPointer { source in
            values.withUnsafeMutableBufferPointer { target in
                var row = 0
                for blockRow in 0..<(gh / m) {
                    for blockColumn in 0..<(gw / m) {
                        for r in 0..<m {
                            for c in 0..<m {
                                let top = (blockRow * m + r) * p, left = (blockColumn * m + c) * p
                                var out = row * rowLength
                                for channel in 0..<3 {
                                    for _ in 0..<frames {
                                        for y in 0..<p {
                                            let base = (channel * height + top + y) * width + left
                                            for x in 0..<p { target[out + x] = source[base + x] }
                                            out += p
                                        }
                                    }
                                }
                                row += 1
                            }
                        }
                    }
                }
            }
        }
        return Output(values: values, t: 1, h: gh, w: gw, height: height, width: width)
    }
}
