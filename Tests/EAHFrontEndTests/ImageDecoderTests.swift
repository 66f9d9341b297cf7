import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// ImageDecoder against Pillow's `exif_transpose(open(f)).convert("RGB")` bytes.
@Suite struct ImageDecoderTests {
    static let decoded: [(name: String, shape: [Int], bytes: [UInt8])] = (try? ImageFixtures.tensors("decoded.safetensors")) ?? []

    @Test func fixtureCoversEveryKind() {
        #expect(Self.decoded.count >= 30)
    }

    @Test(arguments: decoded.map(\.name))
    func decodesExactlyAsPillow(name: String) throws {
        let expected = try #require(Self.decoded.first { $0.name == name })
        let image = try ImageDecoder().decode(path: ImageFixtures.path("valid/" + name))
        #expect([image.height, image.width, 3] == expected.shape)
        let mismatches = zip(image.pixels, expected.bytes).filter { $0 != $1 }.count
        #expect(image.pixels.count == expected.bytes.count)
        #expect(mismatches == 0, "\(name): \(mismatches) of \(expected.bytes.count) bytes differ from Pillow")
    }

    @Test func orientationsMatchTheirTransposes() throws {
        // exif2…8 hold the same stored pixels; after transposing, 5–8 swap the sides.
        for orientation in 2...8 {
            let image = try ImageDecoder().decode(path: ImageFixtures.path("valid/exif\(orientation)_45x31.jpg"))
            #expect(orientation >= 5 ? (image.width, image.height) == (31, 45) : (image.width, image.height) == (45, 31))
        }
    }

    static let invalidExpectations: [String: String] = {
        guard let data = FileManager.default.contents(atPath: ImageFixtures.path("invalid/expected.json")),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: String] else { return [:] }
        return object
    }()

    static func problemName(_ problem: ImageProblem) -> String {
        switch problem {
        case .notFound: "notFound"
        case .empty: "empty"
        case .unsupportedFormat(let format): "unsupportedFormat:\(format.rawValue)"
        case .unknownFormat: "unknownFormat"
        case .truncated: "truncated"
        case .corrupt: "corrupt"
        case .unsupportedVariant: "unsupportedVariant"
        case .tooLarge: "tooLarge"
        case .outOfMemory: "outOfMemory"
        }
    }

    @Test(arguments: invalidExpectations.keys.sorted())
    func refusesInvalidFile(name: String) throws {
        let path = ImageFixtures.path("invalid/" + name)
        let error = try #require(throws: CheckpointError.self) { try ImageDecoder().decode(path: path) }
        let problem = try #require(error.problem as? ImageProblem, "\(name): \(error)")
        #expect(Self.problemName(problem) == Self.invalidExpectations[name], "\(name): \(error)")
        #expect(error.path == path)
        #expect(!error.description.contains("\n"))
    }

    @Test func namesTheFormatAndLimitInMessages() throws {
        let huge = ImageFixtures.path("invalid/huge_100000x100000.png")
        let error = try #require(throws: CheckpointError.self) { try ImageDecoder().decode(path: huge) }
        #expect(error.problem as? ImageProblem == .tooLarge(width: 100000, height: 100000, limit: ImageDecoder.defaultMaximumPixelCount))
        #expect(error.description.hasPrefix(huge + ": image is 100000×100000 pixels"))
        let truncated = try #require(throws: CheckpointError.self) {
            try ImageDecoder().decode(path: ImageFixtures.path("invalid/truncated_half.jpg"))
        }
        #expect(truncated.problem as? ImageProblem == .truncated(.jpeg))
        let webp = try #require(throws: CheckpointError.self) {
            try ImageDecoder().decode(path: ImageFixtures.path("invalid/image.webp"))
        }
        #expect(webp.description.contains("WebP images are not supported"))
    }

    @Test func missingFileIsNamed() throws {
        let error = try #require(throws: CheckpointError.self) { try ImageDecoder().decode(path: "/nonexistent/cat.jpg") }
        #expect(error.problem as? ImageProblem == .notFound)
        #expect(error.description == "/nonexistent/cat.jpg: no such image file; check the path")
    }

    @Test func pixelLimitIsConfigurable() throws {
        let decoder = ImageDecoder(maximumPixelCount: 1000)
        let error = try #require(throws: CheckpointError.self) {
            try decoder.decode(path: ImageFixtures.path("valid/rgb_301x97_444.jpg"))
        }
        #expect(error.problem as? ImageProblem == .tooLarge(width: 301, height: 97, limit: 1000))
        let png = try #require(throws: CheckpointError.self) {
            try decoder.decode(path: ImageFixtures.path("valid/rgba_301x97.png"))
        }
        #expect(png.problem as? ImageProblem == .tooLarge(width: 301, height: 97, limit: 1000))
    }

    /// Every prefix and many byte mutations of valid files either decode or throw; none crash.
    @Test func mutatedFilesNeverCrash() throws {
        var generator = SplitMix64(seed: 7)
        for name in ["rgb_37x53_420.jpg", "rgb_64x64_progressive.jpg", "cmyk_45x31.jpg", "exif6_45x31.jpg",
                     "rgb_37x53.png", "palette4_trns_41x29.png", "rgba16_interlaced_35x27.png", "exif6_37x21.png"] {
            let bytes = try #require(FileManager.default.contents(atPath: ImageFixtures.path("valid/" + name))).map { $0 }
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
                _ = try? ImageDecoder().decode(Array(bytes[..<cut]))
            }
            for _ in 0..<150 {
                var mutated = bytes
                for _ in 0..<Int(generator.next() % 4 + 1) {
                    let index = Int(generator.next() % UInt64(mutated.count))
                    mutated[index] = UInt8(truncatingIfNeeded: generator.next())
                }
                _ = try? ImageDecoder().decode(mutated)
            }
        }
    }

    @Test func malformedExifIsIgnored() {
        let cases: [[UInt8]] = [
            [], [0x49, 0x49], [0x49, 0x49, 42, 0, 0xFF, 0xFF, 0xFF, 0x7F],
            [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1],  // entry cut short
            [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 9, 0, 0],  // value 9
        ]
        for bytes in cases {
            #expect(bytes.withUnsafeBytes { ExifOrientation.read(tiff: $0) } == .normal)
        }
        let good: [UInt8] = [0x4D, 0x4D, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]
        #expect(good.withUnsafeBytes { ExifOrientation.read(tiff: $0) } == .rotate90Clockwise)
    }

    @Test func formatDetectionUsesBytesOnly() {
        func detect(_ bytes: [UInt8]) -> ImageFormat? { bytes.withUnsafeBytes { ImageFormat.detect($0) } }
        #expect(detect([0xFF, 0xD8, 0xFF, 0xE0]) == .jpeg)
        #expect(detect([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) == .png)
        #expect(detect(Array("GIF89a".utf8)) == .gif)
        #expect(detect(Array("RIFF\0\0\0\0WEBP".utf8)) == .webp)
        #expect(detect([0, 0, 0, 0x18] + Array("ftypavif".utf8)) == .heif)
        #expect(detect([0xFF, 0xD8]) == nil)
    }
}
