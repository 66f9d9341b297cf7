import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import EAHTestSupport
import Testing

/// Qwen2VLImageProcessor against transformers' `Qwen2VLImageProcessorPil` as saved with the tiny
/// Qwen2-VL fixture (tools/make_qwen2vl_fixtures.py: min_pixels 256, max_pixels 2304, patch 4).
@Suite struct Qwen2VLImageProcessorTests {
    static let files = ["rgb_37x53.png", "rgb_1x1.png", "rgb_301x97_444.jpg", "gray_64x64.png"]

    static func reference(_ name: String) -> [Float]? {
        LlavaFixtures.floats("../qwen2vl/qwen2vl/expected.safetensors", name)
    }

    @Test("settings come from the saved processor_config.json")
    func settings() throws {
        let processor = try Qwen2VLImageProcessor(folder: Fixtures.path("qwen2vl/qwen2vl/hf-save"))
        #expect(processor.minPixels == 256)
        #expect(processor.maxPixels == 2304)
        #expect(processor.patchSize == 4)
        #expect(processor.mergeSize == 2)
        #expect(processor.temporalPatchSize == 2)
        #expect(processor.base.resample == .bicubic)
    }

    @Test("grids and pixel values equal the processor's (inside, below and above the pixel limits)", arguments: 0..<4)
    func matchesTransformers(_ k: Int) throws {
        let processor = try Qwen2VLImageProcessor(folder: Fixtures.path("qwen2vl/qwen2vl/hf-save"))
        let output = try processor.preprocess(path: Fixtures.path("images/valid/" + Self.files[k]))
        let grid = try #require(LlavaFixtures.integers("../qwen2vl/qwen2vl/expected.safetensors", "grid_\(k)"))
        #expect([output.t, output.h, output.w] == grid)
        let expected = try #require(Self.reference("pixel_values_\(k)"))
        #expect(output.values.count == expected.count)
        let differences = zip(output.values, expected).map { abs($0 - $1) }
        let worst = differences.max() ?? .infinity, mean = differences.reduce(0, +) / Float(max(differences.count, 1))
        print("qwen2vl pixels \(Self.files[k]): grid \(grid) max abs diff \(worst) mean \(mean)")
        if Self.files[k].hasSuffix(".png") {
            #expect(worst == 0, "\(Self.files[k]): max abs diff \(worst)")
        } else {
            // JPEG: libjpeg-turbo's and Pillow's IDCT may round a few samples differently (as in the CLIP tests).
            #expect(worst <= 0.03 && mean <= 0.003, "\(Self.files[k]): max \(worst) mean \(mean)")
        }
    }

    @Test("smart_resize: rounding, the min and max clamps, and the aspect-ratio limit")
    func smartResize() throws {
        #expect(try Qwen2VLImageProcessor.smartResize(height: 53, width: 37, factor: 8, minPixels: 256, maxPixels: 2304) == (56, 40))
        #expect(try Qwen2VLImageProcessor.smartResize(height: 1, width: 1, factor: 8, minPixels: 256, maxPixels: 2304) == (16, 16))
        #expect(try Qwen2VLImageProcessor.smartResize(height: 97, width: 301, factor: 8, minPixels: 256, maxPixels: 2304) == (24, 80))
        // Python's round() goes to even: 36 / 8 = 4.5 → 4, 44 / 8 = 5.5 → 6.
        #expect(try Qwen2VLImageProcessor.smartResize(height: 36, width: 44, factor: 8, minPixels: 16, maxPixels: 100_000) == (32, 48))
        #expect(throws: PreprocessorProblem.unsupported(key: "image", detail: "an aspect ratio above 200 (201×1)")) {
            try Qwen2VLImageProcessor.smartResize(height: 1, width: 201, factor: 8, minPixels: 16, maxPixels: 100_000)
        }
    }

    @Test("bad settings name the key")
    func badSettings() throws {
        #expect(throws: PreprocessorProblem.invalidValue(key: "min_pixels", expected: "at most max_pixels (100)")) {
            try Qwen2VLImageProcessor(json: try JSONParser.parse(Array(#"{"min_pixels": 200, "max_pixels": 100}"#.utf8)))
        }
        #expect(throws: PreprocessorProblem.invalidValue(key: "size.longest_edge", expected: "an integer in 1...1099511627776")) {
            try Qwen2VLImageProcessor(json: try JSONParser.parse(Array(#"{"size": {"shortest_edge": 10, "longest_edge": "x"}}"#.utf8)))
        }
    }
}

/// The Qwen2-VL fixture's own chat template and ByteLevel BPE tokenizer against what
/// `Qwen2VLProcessor.apply_chat_template` rendered and its tokenizer produced.
@Suite struct Qwen2VLPromptTextTests {
    @Test("ChatML with the default system prompt from the model's chat_template.jinja, tokenized as transformers does", arguments: 0..<4)
    func chatTemplateAndTokens(_ k: Int) throws {
        let folder = Fixtures.path("qwen2vl/qwen2vl/hf-save")
        let facts = try MappedFile(path: Fixtures.path("qwen2vl/qwen2vl/facts.json"))
        let document = try withExtendedLifetime(facts) { try JSONParser.parse(facts.bytes) }
        guard case .array(let images)? = document["images"], case .string(let question)? = images[k]["question"],
              case .string(let expectedPrompt)? = images[k]["prompt"] else { Issue.record("facts.json lacks image \(k)"); return }
        let template = try ConversationTemplate.resolve(modelDirectory: folder)
        let prompt = try template.render(prompt: question)
        #expect(prompt == expectedPrompt)
        #expect(prompt.hasPrefix("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>"))
        let tokenizer = try TokenizerFile.load(path: folder + "/tokenizer.json")
        let expected = try #require(LlavaFixtures.integers("../qwen2vl/qwen2vl/expected.safetensors", "template_ids_\(k)"))
        #expect(tokenizer.encode(prompt, addBOS: true) == expected)
    }
}
