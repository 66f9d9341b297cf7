/// An 8-bit RGB image, row-major, three bytes per pixel (R, G, B), no padding between rows.
///
/// What `ImageDecoder` returns: the pixels Pillow gives for
/// `ImageOps.exif_transpose(Image.open(path)).convert("RGB")`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public let pixels: [UInt8]
    /// The colour Pillow keeps as `info["transparency"]` after `convert("RGB")`: a PNG's tRNS
    /// colour key (RGB, or grey of at most 8 bits as (t, t, t), raw as stored) or the colour of
    /// a palette's single fully transparent entry. transformers' processor turns pixels of
    /// exactly this colour white (see `CLIPPreprocessor`). Nil for every other image.
    public let transparencyKey: [Int]?

    /// An image over `pixels`, or nil when the count is not `width * height * 3` or a side is
    /// not positive.
    public init?(width: Int, height: Int, pixels: [UInt8]) {
        guard width > 0, height > 0, width.multipliedReportingOverflow(by: height).overflow == false,
              (width * height).multipliedReportingOverflow(by: 3).overflow == false,
              pixels.count == width * height * 3 else { return nil }
        self.width = width
        self.height = height
        self.pixels = pixels
        self.transparencyKey = nil
    }

    /// An image of one colour.
    public init(width: Int, height: Int, filledWith color: (UInt8, UInt8, UInt8)) {
        precondition(width > 0 && height > 0, "image sides must be positive")
        self.width = width
        self.height = height
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for index in stride(from: 0, to: pixels.count, by: 3) {
            pixels[index] = color.0
            pixels[index + 1] = color.1
            pixels[index + 2] = color.2
        }
        self.pixels = pixels
        self.transparencyKey = nil
    }

    /// Internal: trusts the caller that the count matches.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8], transparencyKey: [Int]? = nil) {
        self.width = width
        self.height = height
        self.pixels = pixels
        self.transparencyKey = transparencyKey
    }

    /// transformers' `convert_to_rgb` for an RGB image carrying a colour key: `convert("RGBA")`
    /// makes pixels of exactly the key colour transparent, and compositing onto white turns
    /// them white; every other pixel is unchanged. Returns the image unchanged without a key.
    public func compositedOnWhite() -> RGBImage {
        guard let key = transparencyKey, key.count == 3 else { return self }
        var output = pixels
        for index in stride(from: 0, to: output.count, by: 3)
        where Int(output[index]) == key[0] && Int(output[index + 1]) == key[1] && Int(output[index + 2]) == key[2] {
            output[index] = 255; output[index + 1] = 255; output[index + 2] = 255
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: output)
    }

    /// The (R, G, B) of the pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let index = (y * width + x) * 3
        return (pixels[index], pixels[index + 1], pixels[index + 2])
    }

    /// This image pasted, centred as LLaVA's `expand2square` does, on a square of `color`
    /// whose side is the longer side: at `((side − width) / 2, (side − height) / 2)`, rounded
    /// down. A square image is returned unchanged. The result, a new image as in LLaVA, has
    /// no `transparencyKey`.
    public func expandedToSquare(background color: (UInt8, UInt8, UInt8)) -> RGBImage {
        if width == height { return self }
        let side = max(width, height)
        let left = (side - width) / 2
        let top = (side - height) / 2
        var output = RGBImage(width: side, height: side, filledWith: color).pixels
        let rowBytes = width * 3
        pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                for y in 0..<height {
                    let from = y * rowBytes
                    let to = ((top + y) * side + left) * 3
                    for i in 0..<rowBytes { target[to + i] = source[from + i] }
                }
            }
        }
        return RGBImage(uncheckedWidth: side, height: side, pixels: output)
    }
}
