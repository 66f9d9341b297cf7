/// Pillow's `Image.resize` for 8-bit images (`ImagingResample` in `Resample.c`), bit for bit.
///
/// A separable convolution: a horizontal pass, then a vertical pass, each rounding to 8 bits.
/// When downscaling, the kernel is widened by the scale factor (antialiasing). Coefficients
/// are computed in double, normalised to sum 1, then turned into fixed point with 22
/// fractional bits (`PRECISION_BITS = 32 − 8 − 2`); each output is the fixed-point sum plus
/// one half, shifted and clipped to 0–255. A pass whose size does not change is skipped.
public enum PILResampler {
    /// `image` resized to `width × height` with `filter`.
    public static func resize(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter) -> RGBImage {
        precondition(width > 0 && height > 0, "resize target sides must be positive")
        let needHorizontal = width != image.width
        let needVertical = height != image.height
        if !needHorizontal && !needVertical { return image }
        let horizontal = coefficients(inSize: image.width, outSize: width, filter: filter)
        let vertical = coefficients(inSize: image.height, outSize: height, filter: filter)
        var current = image.pixels
        var currentWidth = image.width
        var currentHeight = image.height
        var verticalBounds = vertical.bounds
        if needHorizontal {
            // Only the rows the vertical pass reads.
            let first = vertical.bounds[0]
            let last = vertical.bounds[2 * (height - 1)] + vertical.bounds[2 * (height - 1) + 1]
            let rows = needVertical ? last - first : image.height
            let offset = needVertical ? first : 0
            if needVertical { for i in 0..<height { verticalBounds[2 * i] -= first } }
            var output = [UInt8](repeating: 0, count: width * rows * 3)
            current.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    horizontal.weights.withUnsafeBufferPointer { weights in
                        for y in 0..<rows {
                            let row = (y + offset) * currentWidth * 3
                            for x in 0..<width {
                                let xmin = horizontal.bounds[2 * x], count = horizontal.bounds[2 * x + 1]
                                let k = x * horizontal.size
                                var s0 = half, s1 = half, s2 = half
                                for i in 0..<count {
                                    let p = row + (xmin + i) * 3
                                    let w = Int(weights[k + i])
                                    s0 += Int(source[p]) * w
                                    s1 += Int(source[p + 1]) * w
                                    s2 += Int(source[p + 2]) * w
                                }
                                let o = (y * width + x) * 3
                                target[o] = clip(s0); target[o + 1] = clip(s1); target[o + 2] = clip(s2)
                            }
                        }
                    }
                }
            }
            current = output
            currentWidth = width
            currentHeight = rows
        }
        if needVertical {
            var output = [UInt8](repeating: 0, count: currentWidth * height * 3)
            let rowBytes = currentWidth * 3
            current.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    vertical.weights.withUnsafeBufferPointer { weights in
                        for y in 0..<height {
                            let ymin = verticalBounds[2 * y], count = verticalBounds[2 * y + 1]
                            let k = y * vertical.size
                            for b in 0..<rowBytes {
                                var s = half
                                for i in 0..<count {
                                    s += Int(source[(ymin + i) * rowBytes + b]) * Int(weights[k + i])
                                }
                                target[y * rowBytes + b] = clip(s)
                            }
                        }
                    }
                }
            }
            current = output
            currentHeight = height
        }
        return RGBImage(uncheckedWidth: currentWidth, height: currentHeight, pixels: current)
    }

    static let precisionBits = 32 - 8 - 2
    private static let half = 1 << (precisionBits - 1)

    private static func clip(_ value: Int) -> UInt8 {
        UInt8(clamping: value >> precisionBits)
    }

    /// Pillow's `precompute_coeffs` then `normalize_coeffs_8bpc` for a full-size box: per output
    /// index, the first input index and the tap count (`bounds`), and `size` fixed-point weights.
    static func coefficients(inSize: Int, outSize: Int, filter: ResampleFilter) -> (size: Int, bounds: [Int], weights: [Int32]) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1.0)
        let support = filter.support * filterScale
        let size = Int(support.rounded(.up)) * 2 + 1
        var bounds = [Int](repeating: 0, count: outSize * 2)
        var weights = [Int32](repeating: 0, count: outSize * size)
        var k = [Double](repeating: 0, count: size)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            var total = 0.0
            let ss = 1.0 / filterScale
            let xmin = max(0, Int(center - support + 0.5))
            let xmax = min(inSize, Int(center + support + 0.5)) - xmin
            for x in 0..<size { k[x] = 0 }
            if xmax > 0 {
                for x in 0..<xmax {
                    let w = filter.weight((Double(x + xmin) - center + 0.5) * ss)
                    k[x] = w
                    total += w
                }
                if total != 0.0 { for x in 0..<xmax { k[x] /= total } }
            }
            bounds[2 * xx] = xmin
            bounds[2 * xx + 1] = max(0, xmax)
            for x in 0..<size {
                let scaled = k[x] * Double(1 << precisionBits)
                weights[xx * size + x] = Int32(k[x] < 0 ? (-0.5 + scaled) : (0.5 + scaled))
            }
        }
        return (size, bounds, weights)
    }
}
