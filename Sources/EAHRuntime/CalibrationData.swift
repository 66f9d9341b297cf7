import EAH
import EAHCheckpoint
import EAHCore

/// The samples a calibration runs on: image paths with prompts.
///
/// From a JSONL file of `{"image": path, "prompt": text}` lines (image paths relative to the
/// file; blank lines skipped), or from a folder of `.jpg`/`.jpeg`/`.png` images (sorted by name)
/// that all get `prompt`.
public struct CalibrationData: Sendable {
    public struct Sample: Sendable, Equatable {
        public let image: String
        public let prompt: String

        public init(image: String, prompt: String) {
            self.image = image
            self.prompt = prompt
        }
    }

    public let samples: [Sample]
    /// SHA-256 of the JSONL bytes, or of the folder's sorted image names and the prompt.
    public let digest: String

    public init(path: String, prompt: String?) throws(CheckpointError) {
        var status = stat()
        guard stat(path, &status) == 0 else { throw CheckpointError(path: path, problem: FileProblem.notFound) }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            guard let prompt else {
                throw CheckpointError(path: path, problem: CalibrationProblem.badDataLine(line: 0, reason: "a folder of images needs --prompt"))
            }
            let names = Self.imageNames(in: path)
            guard !names.isEmpty else { throw CheckpointError(path: path, problem: CalibrationProblem.noSamples) }
            samples = names.map { Sample(image: path + "/" + $0, prompt: prompt) }
            digest = FileDigest.sha256(Array((names.joined(separator: "\n") + "\n\u{0}" + prompt).utf8))
        } else {
            let file = try MappedFile(path: path)
            let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
            var parsed: [Sample] = []
            var lineNumber = 0
            for line in String(decoding: file.bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
                lineNumber += 1
                guard !line.allSatisfy({ $0 == " " || $0 == "\r" || $0 == "\t" }) else { continue }
                let json: JSONValue
                do throws(JSONProblem) {
                    json = try JSONParser.parse(String(line))
                } catch {
                    throw CheckpointError(path: path, problem: CalibrationProblem.badDataLine(line: lineNumber, reason: error.message))
                }
                guard case .string(let image)? = json["image"], case .string(let text)? = json["prompt"] else {
                    throw CheckpointError(path: path, problem: CalibrationProblem.badDataLine(line: lineNumber, reason: "needs string fields \"image\" and \"prompt\""))
                }
                guard !image.utf8.contains(0), !image.isEmpty else {
                    throw CheckpointError(path: path, problem: CalibrationProblem.badDataLine(line: lineNumber, reason: "the image path is empty or holds a NUL byte"))
                }
                parsed.append(Sample(image: image.hasPrefix("/") ? image : folder + "/" + image, prompt: text))
            }
            guard !parsed.isEmpty else { throw CheckpointError(path: path, problem: CalibrationProblem.noSamples) }
            samples = parsed
            digest = withExtendedLifetime(file) { FileDigest.sha256(file.bytes) }
        }
    }

    /// Every `count`-th sample starting at `index` (`--shard index/count`).
    public func shard(_ index: Int, of count: Int) -> [Sample] {
        shardIndices(index, of: count).map { samples[$0] }
    }

    /// The indexes of `shard(index, of: count)`'s samples in `samples`.
    public func shardIndices(_ index: Int, of count: Int) -> [Int] {
        Shard(index: index, count: count).select(Array(samples.indices))
    }

    static func imageNames(in folder: String) -> [String] {
        guard let directory = opendir(folder) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            let lower = name.lowercased()
            if !name.hasPrefix("."), lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") || lower.hasSuffix(".png") { names.append(name) }
        }
        return names.sorted()
    }
}
