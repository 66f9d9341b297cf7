import EAHCheckpoint
import EAHCore

/// The encoded bytes an image part refers to, bounded in size.
public enum ImageLoader {
    /// The bytes and a name for errors; 400s for an undecodable data URL, a missing or
    /// unreadable file, and anything over `maxBytes`.
    public static func bytes(of reference: ChatCompletionRequest.ImageReference, maxBytes: Int) throws(APIError) -> ([UInt8], String) {
        switch reference {
        case .data(_, let base64):
            guard base64.utf8.count / 4 * 3 <= maxBytes + 3 else { throw tooLarge(maxBytes) }
            guard let bytes = Base64.decode(base64[...].utf8) else {
                throw .invalid("the image's data URL does not hold valid base64", param: "messages", code: "invalid_image")
            }
            guard bytes.count <= maxBytes else { throw tooLarge(maxBytes) }
            return (bytes, "data URL")
        case .file(let path):
            let shown = TerminalText.escape(path)
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw .invalid("image file '\(shown)' does not exist", param: "messages", code: "image_not_found")
            }
            guard (status.st_mode & S_IFMT) == S_IFREG else {
                throw .invalid("image path '\(shown)' is not a regular file", param: "messages", code: "invalid_image")
            }
            guard Int(status.st_size) <= maxBytes else { throw tooLarge(maxBytes) }
            do throws(CheckpointError) {
                let file = try MappedFile(path: path)
                return (Array(file.bytes), shown)
            } catch {
                throw .invalid("image file '\(shown)' cannot be read: \(error.problem.message)", param: "messages", code: "invalid_image")
            }
        }
    }

    private static func tooLarge(_ maxBytes: Int) -> APIError {
        .invalid("the image is larger than the server's limit of \(maxBytes) bytes", param: "messages", code: "image_too_large")
    }
}
