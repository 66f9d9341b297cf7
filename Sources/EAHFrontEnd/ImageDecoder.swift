import CImageShims
import EAHCheckpoint

/// Decodes JPEG and PNG files into `RGBImage`s exactly as Pillow does for
/// `ImageOps.exif_transpose(Image.open(path)).convert("RGB")` (what transformers'
/// `load_image` and LLaVA's own loader give the processor).
///
/// The format comes from the file's first bytes. Conversions follow Pillow: grey is
/// replicated; alpha (RGBA, grey+alpha, palette or colour-key transparency) is dropped, not
/// composited; 16-bit colour keeps each sample's high byte; 16-bit grey is clipped to 255
/// (Pillow's `I;16` → `RGB`); 1-, 2- and 4-bit grey scale to 0–255; CMYK JPEGs are read with
/// Adobe's inverted polarity and converted with Pillow's `cmyk2rgb`. A PNG colour key that
/// Pillow keeps after `convert("RGB")` is reported as `RGBImage.transparencyKey`. JPEGs decode with
/// libjpeg-turbo's defaults (accurate integer IDCT, fancy upsampling), as Pillow's do.
/// Truncated files are refused (Pillow raises "image file is truncated"), as is any image of
/// more than `maximumPixelCount` pixels, before its pixels are allocated.
public struct ImageDecoder: Sendable {
    /// 16384 × 16384.
    public static let defaultMaximumPixelCount = 16384 * 16384

    /// The largest `width × height` accepted.
    public var maximumPixelCount: Int

    public init(maximumPixelCount: Int = ImageDecoder.defaultMaximumPixelCount) {
        self.maximumPixelCount = maximumPixelCount
    }

    /// Decodes the image file at `path`.
    public func decode(path: String) throws(CheckpointError) -> RGBImage {
        let file: MappedFile
        do throws(CheckpointError) {
            file = try MappedFile(path: path)
        } catch {
            if let problem = error.problem as? FileProblem, problem == .notFound {
                throw CheckpointError(path: path, problem: ImageProblem.notFound)
            }
            throw error
        }
        do throws(ImageProblem) {
            return try decode(file.bytes)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// Decodes an image held in memory.
    public func decode(_ bytes: [UInt8]) throws(ImageProblem) -> RGBImage {
        let result: Result<RGBImage, ImageProblem> = bytes.withUnsafeBytes { raw in
            do throws(ImageProblem) { return .success(try decode(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Decodes an image held in memory.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws(ImageProblem) -> RGBImage {
        guard bytes.count > 0, let base = bytes.baseAddress else { throw .empty }
        guard let format = ImageFormat.detect(bytes) else { throw .unknownFormat }
        guard format.isDecodable else { throw .unsupportedFormat(format) }
        var raw = eah_raw_image()
        defer { eah_raw_image_free(&raw) }
        let data = base.assumingMemoryBound(to: UInt8.self)
        let limit = UInt64(max(0, maximumPixelCount))
        let status = format == .jpeg
            ? eah_decode_jpeg(data, bytes.count, limit, &raw)
            : eah_decode_png(data, bytes.count, limit, &raw)
        let width = Int(raw.width), height = Int(raw.height)
        switch Int(status) {
        case Int(EAH_DECODE_OK.rawValue): break
        case Int(EAH_DECODE_TRUNCATED.rawValue): throw .truncated(format)
        case Int(EAH_DECODE_TOO_LARGE.rawValue): throw .tooLarge(width: width, height: height, limit: maximumPixelCount)
        case Int(EAH_DECODE_NO_MEMORY.rawValue): throw .outOfMemory(width: width, height: height)
        case Int(EAH_DECODE_UNSUPPORTED.rawValue): throw .unsupportedVariant(format, Self.message(of: &raw))
        default: throw .corrupt(format, Self.message(of: &raw))
        }
        guard let pixels = raw.pixels, width > 0, height > 0 else { throw .corrupt(format, "the image has no pixels") }
        let samples = UnsafeBufferPointer(start: pixels, count: raw.row_bytes * height)
        let image: RGBImage
        let orientation: ExifOrientation
        if format == .jpeg {
            image = try Self.jpegToRGB(samples, raw: raw, width: width, height: height)
            orientation = ExifOrientation.read(jpeg: bytes)
        } else {
            image = try Self.pngToRGB(samples, raw: &raw, width: width, height: height)
            if let exif = raw.exif, raw.exif_size > 0 {
                orientation = ExifOrientation.read(tiff: UnsafeRawBufferPointer(start: exif, count: raw.exif_size))
            } else {
                orientation = .normal
            }
        }
        return orientation.apply(to: image)
    }

    private static func message(of raw: inout eah_raw_image) -> String {
        withUnsafeBytes(of: &raw.message) { buffer in
            let bytes = buffer.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func jpegToRGB(_ samples: UnsafeBufferPointer<UInt8>, raw: eah_raw_image, width: Int, height: Int) throws(ImageProblem) -> RGBImage {
        let channels = Int(raw.channels)
        guard raw.row_bytes == width * channels else { throw .corrupt(.jpeg, "unexpected row size") }
        var output = [UInt8](repeating: 0, count: width * height * 3)
        output.withUnsafeMutableBufferPointer { out in
            let count = width * height
            switch channels {
            case 1:
                for i in 0..<count {
                    let v = samples[i]
                    out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v
                }
            case 3:
                for i in 0..<count * 3 { out[i] = samples[i] }
            default:
                // Pillow: rawmode "CMYK;I" (Adobe polarity, inverted), then cmyk2rgb.
                for i in 0..<count {
                    let nk = Int(samples[4 * i + 3])  // 255 − (255 − stored)
                    for c in 0..<3 {
                        let t = (255 - Int(samples[4 * i + c])) * nk + 128
                        let product = ((t >> 8) + t) >> 8
                        out[3 * i + c] = UInt8(clamping: nk - product)
                    }
                }
            }
        }
        guard channels == 1 || channels == 3 || channels == 4 else {
            throw .unsupportedVariant(.jpeg, "\(channels) colour components")
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: output)
    }

    private static func pngToRGB(_ samples: UnsafeBufferPointer<UInt8>, raw: inout eah_raw_image, width: Int, height: Int) throws(ImageProblem) -> RGBImage {
        let color = Int(raw.color), depth = Int(raw.bit_depth), channels = Int(raw.channels)
        let bytesPerSample = depth == 16 ? 2 : 1
        guard raw.row_bytes >= width * channels * bytesPerSample else { throw .corrupt(.png, "unexpected row size") }
        let rowBytes = Int(raw.row_bytes)
        var output = [UInt8](repeating: 0, count: width * height * 3)
        var palette = [UInt8](repeating: 0, count: 256 * 3)
        let paletteCount = Int(raw.palette_count)
        withUnsafeBytes(of: &raw.palette) { buffer in
            for i in 0..<min(paletteCount, 256) * 3 { palette[i] = buffer[i] }
        }
        guard [0, 2, 3, 4, 6].contains(color) else { throw .corrupt(.png, "unknown colour type \(color)") }
        output.withUnsafeMutableBufferPointer { out in
            for y in 0..<height {
                let row = y * rowBytes
                for x in 0..<width {
                    let o = (y * width + x) * 3
                    let s = row + x * channels * bytesPerSample
                    switch color {
                    case 0, 4:  // grey (+ alpha, dropped)
                        let v: UInt8
                        switch depth {
                        case 1: v = samples[s] == 0 ? 0 : 255
                        case 2: v = samples[s] &* 85
                        case 4: v = samples[s] &* 17
                        case 16 where color == 0: v = samples[s] == 0 ? samples[s + 1] : 255  // I;16 clipped
                        default: v = samples[s]  // 8 bits, or the high byte of 16-bit grey+alpha
                        }
                        out[o] = v; out[o + 1] = v; out[o + 2] = v
                    case 3:  // palette (transparency dropped)
                        let index = Int(samples[s]) * 3
                        out[o] = palette[index]; out[o + 1] = palette[index + 1]; out[o + 2] = palette[index + 2]
                    default:  // RGB or RGBA: the high byte of 16-bit samples
                        out[o] = samples[s]
                        out[o + 1] = samples[s + bytesPerSample]
                        out[o + 2] = samples[s + 2 * bytesPerSample]
                    }
                }
            }
        }
        return RGBImage(uncheckedWidth: width, height: height, pixels: output, transparencyKey: transparencyKey(&raw, palette: palette))
    }

    /// Pillow's `info["transparency"]` after `convert("RGB")`: a palette's tRNS counts only
    /// when it is one fully transparent entry among opaque ones (`^\xff*\x00\xff*$`); grey
    /// keys of 1 or 16 bits are not carried over (Pillow's modes "1" and "I;16").
    private static func transparencyKey(_ raw: inout eah_raw_image, palette: [UInt8]) -> [Int]? {
        guard raw.has_trns != 0 else { return nil }
        switch Int(raw.color) {
        case 3:
            let count = Int(raw.trns_count)
            let alphas: [UInt8] = withUnsafeBytes(of: &raw.trns_alpha) { Array($0.prefix(count)) }
            guard alphas.filter({ $0 == 0 }).count == 1, alphas.allSatisfy({ $0 == 0 || $0 == 255 }),
                  let index = alphas.firstIndex(of: 0) else { return nil }
            return [Int(palette[3 * index]), Int(palette[3 * index + 1]), Int(palette[3 * index + 2])]
        case 0:
            guard raw.bit_depth > 1, raw.bit_depth <= 8 else { return nil }
            let t = Int(raw.trns_gray)
            return [t, t, t]
        case 2:
            return [Int(raw.trns_red), Int(raw.trns_green), Int(raw.trns_blue)]
        default:
            return nil
        }
    }
}
