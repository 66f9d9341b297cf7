/// The EXIF orientation tag (0x0112 in IFD0) and the transpose Pillow's
/// `ImageOps.exif_transpose` applies for it.
///
/// Values other than 1–8, and EXIF data that is malformed or out of bounds, count as
/// `.normal` (the image is left as stored). Pillow's fallback to an XMP `tiff:Orientation`
/// when EXIF has none is not implemented.
public enum ExifOrientation: Int, Sendable, Equatable {
    case normal = 1
    case mirrorHorizontal = 2
    case rotate180 = 3
    case mirrorVertical = 4
    case transpose = 5
    /// Stored rotated: displayed after a 90° clockwise turn (Pillow's `ROTATE_270`).
    case rotate90Clockwise = 6
    case transverse = 7
    /// Displayed after a 90° counter-clockwise turn (Pillow's `ROTATE_90`).
    case rotate90CounterClockwise = 8

    /// The orientation in TIFF-structured EXIF bytes (what follows `Exif\0\0`), or `.normal`.
    public static func read(tiff bytes: UnsafeRawBufferPointer) -> ExifOrientation {
        guard bytes.count >= 8 else { return .normal }
        let little: Bool
        if bytes[0] == 0x49, bytes[1] == 0x49 { little = true } else if bytes[0] == 0x4D, bytes[1] == 0x4D { little = false } else { return .normal }
        func u16(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 2 <= bytes.count else { return nil }
            let a = Int(bytes[offset]), b = Int(bytes[offset + 1])
            return little ? a | b << 8 : a << 8 | b
        }
        func u32(_ offset: Int) -> Int? {
            guard let low = u16(little ? offset : offset + 2), let high = u16(little ? offset + 2 : offset) else { return nil }
            return high << 16 | low
        }
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return .normal }
        for entry in 0..<count {
            let base = ifd + 2 + entry * 12
            guard let tag = u16(base), let type = u16(base + 2), let valueCount = u32(base + 4) else { return .normal }
            guard tag == 0x0112 else { continue }
            guard valueCount >= 1 else { return .normal }
            let value: Int?
            switch type {
            case 3: value = u16(base + 8)
            case 4: value = u32(base + 8)
            default: value = nil
            }
            return value.flatMap { ExifOrientation(rawValue: $0) } ?? .normal
        }
        return .normal
    }

    /// The orientation in a JPEG's first `APP1` segment starting `Exif\0\0` (markers are
    /// scanned up to the start of scan), or `.normal`.
    public static func read(jpeg bytes: UnsafeRawBufferPointer) -> ExifOrientation {
        var offset = 2
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF else { offset += 1; continue }  // Pillow skips junk bytes
            let marker = bytes[offset + 1]
            if marker == 0xFF { offset += 1; continue }
            if marker == 0x01 || (0xD0...0xD8).contains(marker) { offset += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return .normal }
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { return .normal }
            let start = offset + 4, end = offset + 2 + length
            if marker == 0xE1, end - start >= 6,
               Array(bytes[start..<start + 6]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                return read(tiff: UnsafeRawBufferPointer(rebasing: bytes[(start + 6)..<end]))
            }
            offset = end
        }
        return .normal
    }

    /// `image` turned upright as Pillow's `exif_transpose` does.
    public func apply(to image: RGBImage) -> RGBImage {
        if self == .normal { return image }
        let w = image.width, h = image.height
        let swaps = rawValue >= 5
        let outWidth = swaps ? h : w, outHeight = swaps ? w : h
        var output = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                var to = 0
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        let sx: Int, sy: Int
                        switch self {
                        case .normal: (sx, sy) = (x, y)
                        case .mirrorHorizontal: (sx, sy) = (w - 1 - x, y)
                        case .rotate180: (sx, sy) = (w - 1 - x, h - 1 - y)
                        case .mirrorVertical: (sx, sy) = (x, h - 1 - y)
                        case .transpose: (sx, sy) = (y, x)
                        case .rotate90Clockwise: (sx, sy) = (y, h - 1 - x)
                        case .transverse: (sx, sy) = (w - 1 - y, h - 1 - x)
                        case .rotate90CounterClockwise: (sx, sy) = (w - 1 - y, x)
                        }
                        let from = (sy * w + sx) * 3
                        target[to] = source[from]
                        target[to + 1] = source[from + 1]
                        target[to + 2] = source[from + 2]
                        to += 3
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: outWidth, height: outHeight, pixels: output, transparencyKey: image.transparencyKey)
    }
}
