/// An 8-bit RGB image, row-major, three bytes per pixel (R, G, B), no padding between rows.
///
/// What `ImageDecoder` returns: the pixels Pillow gives for
/// `ImageOps.exif_transpose(Image.open(path)).convert("RGB")`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public let pixels: [UInt8]

    /// An image over `pixels`, or nil when the count is not `width * height * 3` or a side is
    /// not positive.
    public init?(width: Int, height: Int, pixels: [UInt8]) {
        guard width > 0, height > 0, width.multipliedReportingOverflow(by: height).overflow == false,
              (width * height).multipliedReportingOverflow(by: 3).overflow == false,
              pixels.count == width * height * 3 else { return nil }
        self.width = width
        self.height = height
        self.pixels = pixels
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
    }

    /// Internal: trusts the caller that the count matches.
    init(uncheckedWidth width: Int, height: Int, pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The (R, G, B) of the pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let index = (y * width + x) * 3
        return (pixels[index], pixels[index + 1], pixels[index + 2])
    }

    /// This image pasted, centred as LLaVA's `expand2square` does, on a square of `color`
    /// whose side is the longer side: at `((side − width) / 2, (side − height) / 2)`, rounded
    /// down. A square image is returned unchanged.
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
