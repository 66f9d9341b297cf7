import EAHCheckpoint

/// Why an image file cannot be decoded; `ImageDecoder` throws it inside a `CheckpointError`
/// naming the file.
public enum ImageProblem: CheckpointProblem, Equatable {
    /// No file at the path.
    case notFound
    /// The file has no bytes.
    case empty
    /// A recognised format the decoder does not read (GIF, WebP, BMP, TIFF, HEIF/AVIF).
    case unsupportedFormat(ImageFormat)
    /// The bytes start like no known image format.
    case unknownFormat
    /// The data ends before the image is complete.
    case truncated(ImageFormat)
    /// The decoder refused the data (its message).
    case corrupt(ImageFormat, String)
    /// A valid file of a kind not supported (e.g. an unknown JPEG colour space).
    case unsupportedVariant(ImageFormat, String)
    /// The declared size exceeds the pixel limit; refused before allocating.
    case tooLarge(width: Int, height: Int, limit: Int)
    /// The pixel buffer could not be allocated.
    case outOfMemory(width: Int, height: Int)

    public var message: String {
        switch self {
        case .notFound: "no such image file"
        case .empty: "image file is empty"
        case .unsupportedFormat(let format): "\(format.rawValue) images are not supported (only JPEG and PNG)"
        case .unknownFormat: "not an image: the bytes start like no JPEG or PNG file"
        case .truncated(let format): "\(format.rawValue) image is truncated: the data ends before the image is complete"
        case .corrupt(let format, let detail): "\(format.rawValue) image is corrupt: \(detail)"
        case .unsupportedVariant(let format, let detail): "unsupported \(format.rawValue) image: \(detail)"
        case .tooLarge(let width, let height, let limit): "image is \(width)×\(height) pixels, more than the limit of \(limit) pixels"
        case .outOfMemory(let width, let height): "not enough memory to decode a \(width)×\(height) image"
        }
    }

    public var fix: String? {
        switch self {
        case .notFound: "check the path"
        case .unsupportedFormat, .unsupportedVariant: "convert the image to PNG or JPEG"
        case .truncated: "download or copy the image again; it is incomplete"
        case .tooLarge: "downscale the image first"
        default: nil
        }
    }
}
