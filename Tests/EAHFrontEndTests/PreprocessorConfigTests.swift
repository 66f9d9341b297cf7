import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

@Suite struct PreprocessorConfigTests {
    static func parse(_ text: String) throws(PreprocessorProblem) -> PreprocessorConfig {
        let json: JSONValue
        do { json = try JSONParser.parse(text) } catch { fatalError("bad test JSON: \(error)") }
        return try PreprocessorConfig(json: json)
    }

    @Test func readsTheFixtureConfigs() throws {
        #expect(try ImageFixtures.config("llava") == .llava15)
        let odd = try ImageFixtures.config("odd")
        #expect(odd.size == .shortestEdge(14) && odd.cropHeight == 12 && odd.cropWidth == 18 && odd.resample == .bilinear)
    }

    @Test func acceptsLegacyIntegerSizes() throws {
        let config = try Self.parse(#"{"size": 224, "crop_size": 200, "image_mean": 0.5, "image_std": [0.5, 0.25, 1]}"#)
        #expect(config.size == .shortestEdge(224))
        #expect(config.cropHeight == 200 && config.cropWidth == 200)
        #expect(config.imageMean == [0.5, 0.5, 0.5] && config.imageStd == [0.5, 0.25, 1])
        let exact = try Self.parse(#"{"size": {"height": 30, "width": 40}, "do_center_crop": false}"#)
        #expect(exact.size == .exact(height: 30, width: 40) && !exact.doCenterCrop)
        #expect(try Self.parse("{}") == PreprocessorConfig())
    }

    @Test func refusesBadValues() {
        #expect(throws: PreprocessorProblem.notAnObject) { try Self.parse("[]") }
        #expect(throws: PreprocessorProblem.unsupported(key: "resample", detail: "nearest-neighbour resampling (0)")) {
            try Self.parse(#"{"resample": 0}"#)
        }
        #expect(throws: PreprocessorProblem.invalidValue(key: "resample", expected: "a Pillow filter number 0–5")) {
            try Self.parse(#"{"resample": 9}"#)
        }
        #expect(throws: PreprocessorProblem.invalidValue(key: "size.shortest_edge", expected: "a positive integer up to 65536")) {
            try Self.parse(#"{"size": {"shortest_edge": -3}}"#)
        }
        #expect(throws: PreprocessorProblem.invalidValue(key: "image_mean", expected: "a number or an array of 3 numbers")) {
            try Self.parse(#"{"image_mean": [1, 2]}"#)
        }
        #expect(throws: PreprocessorProblem.invalidValue(key: "image_std", expected: "non-zero")) {
            try Self.parse(#"{"image_std": 0}"#)
        }
        #expect(throws: PreprocessorProblem.unsupported(key: "size", detail: "a longest_edge or max_height/max_width limit")) {
            try Self.parse(#"{"size": {"shortest_edge": 10, "longest_edge": 20}}"#)
        }
        #expect(throws: PreprocessorProblem.invalidValue(key: "do_resize", expected: "true or false")) {
            try Self.parse(#"{"do_resize": 1}"#)
        }
    }

    @Test func readsAnMmprojGGUF() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("mmproj.gguf")
        let metadata: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string("clip")),
            .init(key: "clip.vision.image_size", value: .uint32(336)),
            .init(key: "clip.vision.image_mean", value: .array(element: .float32, [.float32(0.48145466), .float32(0.4578275), .float32(0.40821073)])),
            .init(key: "clip.vision.image_std", value: .array(element: .float32, [.float32(0.26862954), .float32(0.26130258), .float32(0.27577711)])),
        ]
        let writer = try GGUFWriter(path: path, overwrite: false, metadata: metadata, tensors: [])
        try writer.finish()
        let config = try PreprocessorConfig(mmproj: GGUFReader(path: path))
        #expect(config.size == .shortestEdge(336) && config.cropHeight == 336 && config.cropWidth == 336)
        #expect(config.imageMean == [Double(Float(0.48145466)), Double(Float(0.4578275)), Double(Float(0.40821073))])
        #expect(config.resample == .bicubic && config.rescaleFactor == 1.0 / 255.0)

        let bare = directory.file("bare.gguf")
        let other = try GGUFWriter(path: bare, overwrite: false, metadata: [.init(key: "general.architecture", value: .string("clip"))], tensors: [])
        try other.finish()
        let error = try #require(throws: CheckpointError.self) { try PreprocessorConfig(mmproj: GGUFReader(path: bare)) }
        #expect(error.problem as? PreprocessorProblem == .missingKey("clip.vision.image_size"))
    }
}
