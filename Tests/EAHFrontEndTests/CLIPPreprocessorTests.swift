import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// CLIPPreprocessor against transformers' Pillow-based `CLIPImageProcessorPil`
/// (tools/make_image_fixtures.py), for every valid image in crop and pad mode.
@Suite struct CLIPPreprocessorTests {
    static let small = (try? ImageFixtures.tensors("pixel_values_small.safetensors")) ?? []
    static let odd = (try? ImageFixtures.tensors("pixel_values_odd.safetensors")) ?? []

    /// Checks one reference tensor "<file>|<mode>"; returns (max, mean) abs difference.
    static func compare(config name: String, reference: (name: String, shape: [Int], bytes: [UInt8])) throws -> (max: Float, mean: Double) {
        let parts = reference.name.split(separator: "|").map(String.init)
        let file = parts[0], mode = try #require(PreprocessMode(rawValue: parts[1]))
        let processor = CLIPPreprocessor(config: try ImageFixtures.config(name))
        let values = try processor.preprocess(path: ImageFixtures.path("valid/" + file), mode: mode)
        #expect([3, values.height, values.width] == reference.shape, "\(reference.name)")
        let expected = ImageFixtures.floats(reference.bytes)
        guard values.values.count == expected.count else { return (.infinity, .infinity) }
        return ImageFixtures.difference(values.values, expected)
    }

    @Test(arguments: ["small", "odd"])
    func matchesTransformersOnEveryImage(config: String) throws {
        let references = config == "small" ? Self.small : Self.odd
        #expect(references.count >= 60)
        var worst: Float = 0, worstMean = 0.0
        var lines: [String] = []
        for reference in references {
            let (largest, mean) = try Self.compare(config: config, reference: reference)
            #expect(largest <= 0.03, "\(reference.name): max abs diff \(largest)")
            #expect(mean <= 0.003, "\(reference.name): mean abs diff \(mean)")
            worst = max(worst, largest)
            worstMean = max(worstMean, mean)
            lines.append("  \(reference.name): max \(largest) mean \(mean)")
        }
        print("[\(config)] \(references.count) tensors vs transformers: worst max abs diff \(worst), worst mean \(worstMean)")
        if worst > 0 { print(lines.joined(separator: "\n")) }
    }

    /// The 336 configuration of llava-hf: the fixture stores indices into the processor's
    /// float table, so the full float output is recovered exactly.
    @Test func matchesTransformersAtLlavaSize() throws {
        let tensors = try ImageFixtures.tensors("pixel_values_llava.safetensors")
        let lut = ImageFixtures.floats(try #require(tensors.first { $0.name == "lut" }).bytes)
        let config = try ImageFixtures.config("llava")
        #expect(config == .llava15)
        let processor = CLIPPreprocessor(config: config)
        for reference in tensors where reference.name != "lut" {
            let parts = reference.name.split(separator: "|").map(String.init)
            let mode = try #require(PreprocessMode(rawValue: parts[1]))
            let values = try processor.preprocess(path: ImageFixtures.path("valid/" + parts[0]), mode: mode)
            #expect(reference.shape == [3, 336, 336])
            let plane = 336 * 336
            let expected = reference.bytes.enumerated().map { index, byte in lut[(index / plane) * 256 + Int(byte)] }
            let (largest, mean) = ImageFixtures.difference(values.values, expected)
            print("[llava 336] \(reference.name): max abs diff \(largest), mean \(mean)")
            #expect(largest <= 0.03 && mean <= 0.003)
            #expect(largest == 0, "\(reference.name) is not bit-exact")
        }
    }

    @Test func padColourIsLlavas() {
        let processor = CLIPPreprocessor(config: .llava15)
        #expect(processor.padColor == (122, 116, 104))
    }

    @Test func resizeTargetTruncatesTheLongSide() {
        // int(336 * 97 / 37) etc., as transformers' get_resize_output_image_size.
        #expect(ResizeTarget.shortestEdge(336).outputSize(height: 53, width: 37) == (481, 336))
        #expect(ResizeTarget.shortestEdge(336).outputSize(height: 97, width: 301) == (336, 1042))
        #expect(ResizeTarget.shortestEdge(336).outputSize(height: 64, width: 64) == (336, 336))
        #expect(ResizeTarget.shortestEdge(24).outputSize(height: 900, width: 3) == (7200, 24))
        #expect(ResizeTarget.exact(height: 5, width: 7).outputSize(height: 100, width: 3) == (5, 7))
    }

    @Test func expandToSquareCentresAsLlava() throws {
        let image = try #require(RGBImage(width: 3, height: 1, pixels: [1, 2, 3, 4, 5, 6, 7, 8, 9]))
        let square = image.expandedToSquare(background: (0, 0, 0))
        #expect(square.width == 3 && square.height == 3)
        #expect(square[1, 1] == (4, 5, 6) && square[1, 0] == (0, 0, 0))
        let tall = try #require(RGBImage(width: 1, height: 4, pixels: [UInt8](repeating: 9, count: 12)))
        let padded = tall.expandedToSquare(background: (1, 2, 3))
        #expect(padded[1, 0] == (9, 9, 9) && padded[0, 0] == (1, 2, 3) && padded[2, 3] == (1, 2, 3))
    }

    @Test func writesPixelValuesForEahRun() throws {
        let directory = TemporaryDirectory()
        let values = try CLIPPreprocessor(config: try ImageFixtures.config("small"))
            .preprocess(path: ImageFixtures.path("valid/rgb_37x53_420.jpg"))
        let output = directory.file("pv.safetensors")
        try values.write(to: output)
        let reader = try SafetensorsReader(path: output)
        let tensor = try #require(reader.tensor(named: "pixel_values"))
        #expect(tensor.dtype == .f32 && tensor.shape == [1, 3, 24, 24])
        #expect(ImageFixtures.floats(try reader.bytes(of: tensor).array) == values.values)
        #expect(throws: CheckpointError.self) { try values.write(to: output) }
        try values.write(to: output, overwrite: true)
    }
}
