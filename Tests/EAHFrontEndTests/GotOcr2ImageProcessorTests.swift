import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Testing

/// `GotOcr2ImageProcessor`'s settings (the pixel values themselves are compared with
/// transformers' in EAHModelTests' InternVLTests, through the family's processor).
@Suite("GotOcr2ImageProcessor settings")
struct GotOcr2ImageProcessorTests {
    static func settings(_ text: String) throws(PreprocessorProblem) -> GotOcr2ImageProcessor {
        try GotOcr2ImageProcessor(json: try! JSONParser.parse(Array(text.utf8)))
    }

    @Test("the InternVL fixture's processor_config.json: 32² tiles, 1...12 tiles, ImageNet mean/std, cropping on")
    func fixtureSettings() throws {
        let processor = try GotOcr2ImageProcessor(folder: Fixtures.path("internvl/internvl/hf-save"))
        #expect(processor.cropToPatches && processor.minPatches == 1 && processor.maxPatches == 12)
        #expect(processor.tileSize == (32, 32) && processor.base.resample == .bicubic)
        #expect(processor.base.imageMean == [0.485, 0.456, 0.406] && processor.base.imageStd == [0.229, 0.224, 0.225])
    }

    @Test("class defaults: 384² tiles, CLIP's mean, no cropping (InternVLProcessor's folder default turns it on)")
    func defaults() throws {
        let processor = try Self.settings("{}")
        #expect(!processor.cropToPatches && processor.tileSize == (384, 384) && processor.maxPatches == 12)
        #expect(processor.base.imageMean == PreprocessorConfig().imageMean)
        let single = processor.preprocess(RGBImage(width: 5, height: 3, filledWith: (0, 0, 0)))
        #expect(single.tileCount == 1 && single.values.count == 3 * 384 * 384)
    }

    @Test("bad settings name the key")
    func badSettings() {
        #expect(throws: PreprocessorProblem.invalidValue(key: "crop_to_patches", expected: "true or false")) { try Self.settings(#"{"crop_to_patches": 1}"#) }
        #expect(throws: PreprocessorProblem.invalidValue(key: "max_patches", expected: "an integer in 1...64")) { try Self.settings(#"{"max_patches": 0}"#) }
        #expect(throws: PreprocessorProblem.invalidValue(key: "min_patches", expected: "at most max_patches (2)")) {
            try Self.settings(#"{"min_patches": 3, "max_patches": 2}"#)
        }
        #expect(throws: PreprocessorProblem.invalidValue(key: "size", expected: "{\"height\": h, \"width\": w} (the tile size)")) {
            try Self.settings(#"{"size": {"shortest_edge": 448}}"#)
        }
        #expect(throws: PreprocessorProblem.notAnObject) { try Self.settings("[]") }
    }
}
