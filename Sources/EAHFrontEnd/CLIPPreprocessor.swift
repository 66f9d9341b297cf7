import EAHCheckpoint

/// Turns an `RGBImage` into the vision tower's `PixelValues` exactly as transformers' slow,
/// Pillow-based CLIP image processor (`CLIPImageProcessorPil`, what `use_fast=False` gives)
/// does: resize (Pillow's resampling, bit-exact), center crop (zero-padded when the image is
/// smaller than the crop), rescale in float64 then cast to float32, normalise in float32.
///
/// `.pad` mode first applies LLaVA-1.5's `expand2square` with the mean colour
/// `int(m * 255)` per channel.
///
/// The reference is the processor fed what transformers' `load_image` (and LLaVA's loader)
/// give: `exif_transpose(open(f)).convert("RGB")`. Alpha is thus dropped, except that Pillow
/// keeps a PNG colour key, and the processor's `convert_to_rgb` (with `do_convert_rgb`) then
/// turns pixels of that colour white; in `.crop` mode this is reproduced
/// (`RGBImage.compositedOnWhite`). In `.pad` mode the square is a new image without a key.
public struct CLIPPreprocessor: Sendable {
    public let config: PreprocessorConfig

    public init(config: PreprocessorConfig) {
        self.config = config
    }

    /// LLaVA's padding colour: `tuple(int(x * 255) for x in image_mean)`.
    public var padColor: (UInt8, UInt8, UInt8) {
        func channel(_ i: Int) -> UInt8 { UInt8(clamping: Int((config.imageMean[i] * 255).rounded(.towardZero))) }
        return (channel(0), channel(1), channel(2))
    }

    /// Decodes the image at `path` with `decoder` and preprocesses it.
    public func preprocess(path: String, mode: PreprocessMode = .crop, decoder: ImageDecoder = ImageDecoder()) throws(CheckpointError) -> PixelValues {
        preprocess(try decoder.decode(path: path), mode: mode)
    }

    /// The pixel values of `image`.
    public func preprocess(_ image: RGBImage, mode: PreprocessMode = .crop) -> PixelValues {
        let resized = resizedAndCropped(image, mode: mode)
        return normalized(resized)
    }

    /// The 8-bit image after padding (in `.pad` mode), resizing and cropping, before rescaling.
    public func resizedAndCropped(_ image: RGBImage, mode: PreprocessMode = .crop) -> RGBImage {
        var current = mode == .pad ? image.expandedToSquare(background: padColor) : image
        if config.doConvertRGB { current = current.compositedOnWhite() }
        if config.doResize {
            let target = config.size.outputSize(height: current.height, width: current.width)
            current = PILResampler.resize(current, width: max(1, target.width), height: max(1, target.height), filter: config.resample)
        }
        if config.doCenterCrop {
            current = Self.centerCrop(current, height: config.cropHeight, width: config.cropWidth)
        }
        return current
    }

    /// transformers' `center_crop`: the window at `((h − ch) // 2, (w − cw) // 2)` (floor
    /// division), zeros where it extends past the image.
    static func centerCrop(_ image: RGBImage, height: Int, width: Int) -> RGBImage {
        if image.height == height && image.width == width { return image }
        func floorHalf(_ n: Int) -> Int { n >= 0 ? n / 2 : -((-n + 1) / 2) }
        return window(of: image, top: floorHalf(image.height - height), left: floorHalf(image.width - width), height: height, width: width)
    }

    /// The `height × width` window of `image` at (`top`, `left`), zeros outside it.
    static func window(of image: RGBImage, top: Int, left: Int, height: Int, width: Int) -> RGBImage {
        var output = [UInt8](repeating: 0, count: width * height * 3)
        image.pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let sy = y + top
                    guard sy >= 0, sy < image.height else { continue }
                    for x in 0..<width {
                        let sx = x + left
                        guard sx >= 0, sx < image.width else { continue }
                        let from = (sy * image.width + sx) * 3, to = (y * width + x) * 3
                        target[to] = source[from]; target[to + 1] = source[from + 1]; target[to + 2] = source[from + 2]
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: output)
    }

    /// Rescale (`Float(Double(v) * factor)`) and normalise (`(v − mean) / std` in Float), planar.
    func normalized(_ image: RGBImage) -> PixelValues {
        let plane = image.width * image.height
        var values = [Float](repeating: 0, count: 3 * plane)
        var lookup = [[Float]](repeating: [], count: 3)
        for c in 0..<3 {
            let mean = Float(config.imageMean[c]), std = Float(config.imageStd[c])
            lookup[c] = (0...255).map { (byte: Int) -> Float in
                var v = config.doRescale ? Float(Double(byte) * config.rescaleFactor) : Float(byte)
                if config.doNormalize { v = (v - mean) / std }
                return v
            }
        }
        image.pixels.withUnsafeBufferPointer { source in
            values.withUnsafeMutableBufferPointer { target in
                for c in 0..<3 {
                    let table = lookup[c]
                    for i in 0..<plane { target[c * plane + i] = table[Int(source[3 * i + c])] }
                }
            }
        }
        return PixelValues(height: image.height, width: image.width, values: values)
    }
}
