/// Pillow's `Image.resize` for 8-bit images (`ImagingResample` in `Resample.c`), bit for bit.
///
/// A separable convolution: a horizontal pass, then a vertical pass, each rounding to 8 bits.
/// When downscaling, the kernel is widened by the scale factor (antialiasing). Coefficients
/// are computed in double, normalised to sum 1, then turned into fixed point with 22
/// fractional bits (`PRECISION_BITS = 32 − 8 − 2`); each output is the fixed-point sum plus
/// one half, shifted and clipped to 0–255. A pass whose size does not change is skipped.
/// Horizontal pass first, unless the height shrinks by more than twice what the width does
/// (Pillow 11+, as pinned).
public enum PILResampler {
    /// `image` resized to `width × height` with `filter`.
    public static func resize(_ image: RGBImage, width: Int, height: Int, filter: ResampleFilter) -> RGBImage {
        precondition(width > 0 && height > 0, "resize target sides must be positive")
        let needHorizontal = width != image.width
        let needVertical = height != image.height
        if !needHorizontal && !needVertical { return image }
        let horizontal = coefficients(inSize: image.width, outSize: width, filter: filter)
        let vertical = coefficients(inSize: image.height, outSize: height, filter: filter)
        // Pillow 11+: when the height shrinks by more than twice what the width does, the
        // vertical pass runs first (over every column), then the horizontal one.
        let shrink = image.height - height
        if shrink > 0, shrink > (image.width - width) * 2 {
            let tall = needVertical ? verticalPass(image.pixels, width: image.width, bounds: vertical.bounds, coefficients: vertical, height: height) : image.pixels
            let wide = needHorizontal ? horizontalPass(tall, sourceWidth: image.width, rows: height, offset: 0, coefficients: horizontal, width: width) : tall
            return RGBImage(uncheckedWidth: width, height: height, pixels: wide)
        }
        var current = image.pixels
        var currentWidth = image.width
        var verticalBounds = vertical.bounds
        if needHorizontal {
            // Only the rows the vertical pass reads.
            let first = vertical.bounds[0]
            let last = vertical.bounds[2 * (height - 1)] + vertical.bounds[2 * (height - 1) + 1]
            let rows = needVertical ? last - first : image.height
            let offset = needVertical ? first : 0
            if needVertical { for i in 0..<height { verticalBounds[2 * i] -= first } }
            current = horizontalPass(current, sourceWidth: image.width, rows: rows, offset: offset, coefficients: horizontal, width: width)
            currentWidth = width
        }
        if needVertical {
            current = verticalPass(current, width: currentWidth, bounds: verticalBounds, coefficients: vertical, height: height)
        }
        return RGBImage(uncheckedWidth: currentWidth, height: height, pixels: current)
    }

    /// `rows` rows from row `offset` of `source` (`sourceWidth` wide) resampled to `width`.
    private static func horizontalPass(_ source: [UInt8], sourceWidth: Int, rows: Int, offset: Int,
                                       coefficients horizontal: (size: Int, bounds: [Int], weights: [Int32]), width: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: width * rows * 3)
        source.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                horizontal.weights.withUnsafeBufferPointer { weights in
                    for y in 0..<rows {
                        let row = (y + offset) * sourceWidth * 3
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
        return output
    }

    /// `source` (`width` wide) resampled to `height` rows; `bounds` index its rows.
    private static func verticalPass(_ source: [UInt8], width: Int, bounds: [Int],
                                     coefficients vertical: (size: Int, bounds: [Int], weights: [Int32]), height: Int) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: width * height * 3)
        let rowBytes = width * 3
        source.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                vertical.weights.withUnsafeBufferPointer { weights in
                    for y in 0..<height {
                        let ymin = bounds[2 * y], count = bounds[2 * y + 1]
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
        return output
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
