import EAHCheckpoint
@testable import EAHModel
import EAHTestSupport
import Testing

/// LLaVA-OneVision (SigLIP + Qwen2) against transformers 5.24
/// (tools/make_llava_onevision_fixtures.py: a tiny random model saved by save_pretrained).
@Suite struct LlavaOnevisionTests {
    static let model = "../llava-onevision/tiny-llava-onevision-hf"
    static let images = ["wide", "tall", "tiny", "large", "portrait", "huge"]

    static func file(_ name: String) -> String { "../llava-onevision/\(name).safetensors" }

    /// max |a − b| / (1 + |b|).
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count else { return .infinity }
        return zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
    }

    @Test func configIsReadAsSigLIPAndQwen2() throws {
        let file = try MappedFile(path: LlavaFixtures.path(Self.model + "/config.json"))
        let json = try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
        let config = try LlavaConfigReader.llavaHF(json, defaults: LlavaOnevision.defaults)
        let vision = config.vision.spec
        #expect(config.vision.architecture == .siglip)
        #expect(!vision.classToken && !vision.preNorm && vision.patchBias)
        #expect(vision.activation == .geluTanh && vision.layerNormEps == 1e-6 && vision.positionCount == 9)
        #expect(config.visionFeatureLayers == [-1] && config.featureSelect == .full && config.imageFeatureCount == 9)
        #expect(config.projectorBias)
        let text = config.text.spec
        #expect(text.attention.queryBias && text.attention.keyBias && text.attention.valueBias && !text.attention.outputBias)
        #expect(text.attention.headCount == 4 && text.attention.kvHeadCount == 2 && text.attention.headDim == 8 && text.tiedHead)
        #expect(text.rope.parameters.theta == 1e6 && text.norm.eps == 1e-6 && text.masks == [.causal, .causal])
        #expect(config.text.eosTokenIDs == [401] && config.imageTokenIndex == 402)
    }

    @Test func onevisionDefaultsAreTransformers() throws {
        let config = try LlavaConfigReader.llavaHF(.object([("model_type", .string("llava_onevision"))]), defaults: LlavaOnevision.defaults)
        #expect(config.vision == CLIPVisionConfig(hiddenSize: 1152, intermediateSize: 4304, layerCount: 26, headCount: 16, imageSize: 384,
                                                  patchSize: 14, layerNormEps: 1e-6, hiddenAct: .geluTanh, architecture: .siglip))
        #expect(config.text.vocabSize == 151936 && config.text.intermediateSize == 22016 && config.text.maxPositionEmbeddings == 32768)
        #expect(config.text.queryKeyValueBias && !config.text.outputBias && config.text.eosTokenIDs.isEmpty)
        #expect(config.imageTokenIndex == 151646 && config.visionFeatureLayers == [-1] && config.featureSelect == .full)
        #expect(config.anyres?.maxTiles == 9 && config.anyres?.pinpoints.count == 36)
        #expect(config.anyres?.pinpoints.first == ImageSize(height: 384, width: 384) && config.anyres?.pinpoints[1] == ImageSize(height: 384, width: 768))
        // NeXT ignores vision_aspect_ratio, as transformers does.
        let next = try LlavaConfigReader.llavaHF(.object([("model_type", .string("llava_next")), ("vision_aspect_ratio", .string("anyres_max_4"))]))
        #expect(next.anyres != nil && next.anyres?.maxTiles == nil)
    }

    @Test func badOnevisionConfigsAreNamed() throws {
        func problem(_ json: JSONValue) -> ModelProblem? {
            do { _ = try LlavaConfigReader.llavaHF(json, defaults: LlavaOnevision.defaults); return nil } catch { return error }
        }
        #expect(problem(.object([("model_type", .string("llava"))])) == .badConfig(field: "model_type", reason: "is 'llava', expected 'llava_onevision'"))
        #expect(problem(.object([("text_config", .object([("model_type", .string("qwen2")), ("use_sliding_window", .bool(true))]))]))
                == .badConfig(field: "text_config.use_sliding_window", reason: "is true; Qwen2 sliding-window layers are not supported"))
        #expect(problem(.object([("vision_config", .object([("model_type", .string("pixtral"))]))]))
                == .badConfig(field: "vision_config.model_type", reason: "is 'pixtral'; supported vision towers: clip_vision_model, siglip_vision_model"))
        #expect(problem(.object([("vision_config", .object([("model_type", .string("siglip_vision_model")), ("hidden_act", .string("relu6"))]))]))
                == .badConfig(field: "vision_config.hidden_act", reason: "'relu6' is not a supported activation"))
        #expect(problem(.object([("vision_aspect_ratio", .string("anyres"))]))
                == .badConfig(field: "vision_aspect_ratio", reason: "is 'anyres'; expected anyres_max_N (N from 1 to 1024)"))
        #expect(problem(.object([("image_grid_pinpoints", .array([.array([.integer(384), .integer(500)])]))]))
                == .badConfig(field: "image_grid_pinpoints", reason: "holds an entry that is not a [height, width] pair of positive multiples of the image size 384"))
    }

    @Test("each tile's projected SigLIP features equal transformers'", arguments: images)
    func tileFeatures(_ image: String) throws {
        let model = LlavaModel(weights: try LlavaLoader.load(model: LlavaFixtures.path(Self.model)))
        let pixels = try #require(LlavaFixtures.floats(Self.file(image), "pixel_values"))
        let expected = try #require(LlavaFixtures.floats(Self.file(image), "tile_features"))
        let tileLength = 3 * 42 * 42, featureLength = 9 * 32
        #expect(pixels.count % tileLength == 0 && expected.count == pixels.count / tileLength * featureLength)
        for tile in 0..<(pixels.count / tileLength) {
            let features = try model.imageFeatures(pixelValues: Array(pixels[(tile * tileLength)..<((tile + 1) * tileLength)]))
            let error = Self.relativeError(features, Array(expected[(tile * featureLength)..<((tile + 1) * featureLength)]))
            #expect(error <= 1e-4, "\(image) tile \(tile): max |Δ| / (1 + |x|) = \(error)")
        }
    }

    @Test("the SigLIP tower's last_hidden_state (after post_layernorm) equals transformers'", arguments: ["wide", "huge"])
    func lastHiddenState(_ image: String) throws {
        let weights = try LlavaLoader.load(model: LlavaFixtures.path(Self.model))
        let tower = VisionTower(config: weights.config.vision.spec, weights: weights.vision, pool: .shared)
        let pixels = try #require(LlavaFixtures.floats(Self.file(image), "pixel_values"))
        let expected = try #require(LlavaFixtures.floats(Self.file(image), "tile_last_hidden_state"))
        let tileLength = 3 * 42 * 42, featureLength = 9 * 32
        for tile in 0..<(pixels.count / tileLength) {
            let state = try #require(Array(pixels[(tile * tileLength)..<((tile + 1) * tileLength)]).withUnsafeBufferPointer { tower.lastHiddenState(pixels: $0.baseAddress!) })
            let error = Self.relativeError(state, Array(expected[(tile * featureLength)..<((tile + 1) * featureLength)]))
            #expect(error <= 1e-4, "\(image) tile \(tile): max |Δ| / (1 + |x|) = \(error)")
        }
        // LLaVA-1.5 reads layer -2: the last layer and the post-norm are not loaded.
        let llava = try LlavaLoader.load(model: LlavaFixtures.path("m1-gqa-bias/hf-current"))
        #expect(llava.vision.postLayerNorm == nil)
    }

    @Test func textOnlyLogitsEqualTransformersQwen2() throws {
        let model = LlavaModel(weights: try LlavaLoader.load(model: LlavaFixtures.path(Self.model)))
        let ids = try #require(LlavaFixtures.integers(Self.file("text"), "input_ids"))
        let expected = try #require(LlavaFixtures.floats(Self.file("text"), "logits"))
        let prompt = LlavaPrompt(tokens: ids, image: ImageLayout())
        let result = try model.generate(prompt: prompt, pixelValues: [], maxTokens: 1, collectLogits: true)
        let logits = try #require(result.logits)
        let error = Self.relativeError(logits, expected)
        #expect(error <= 1e-4, "max |Δ| / (1 + |x|) = \(error)")
    }

    @Test func pixelValuesOfTheWrongTileCountAreRefused() throws {
        let model = LlavaModel(weights: try LlavaLoader.load(model: LlavaFixtures.path(Self.model)))
        let pixels = try #require(LlavaFixtures.floats(Self.file("wide"), "pixel_values"))
        #expect(throws: ModelProblem.badPixelValues("pixel values hold \(pixels.count) floats; a 200×150 image needs [13, 3, 42, 42]")) {
            _ = try model.imageFeatures(pixelValues: pixels, imageSize: ImageSize(height: 150, width: 200))
        }
    }

    @Test("packed features (base tile, unpadded grid shrunk under anyres_max_9, a newline per row) equal pack_image_features'",
          arguments: images)
    func packedFeatures(_ image: String) throws {
        let model = LlavaModel(weights: try LlavaLoader.load(model: LlavaFixtures.path(Self.model)))
        let pixels = try #require(LlavaFixtures.floats(Self.file(image), "pixel_values"))
        let size = try #require(LlavaFixtures.integers(Self.file(image), "image_sizes"))
        let expected = try #require(LlavaFixtures.floats(Self.file(image), "image_features"))
        let features = try model.imageFeatures(pixelValues: pixels, imageSize: ImageSize(height: size[0], width: size[1]))
        let error = Self.relativeError(features, expected)
        #expect(error <= 1e-4, "\(image): max |Δ| / (1 + |x|) = \(error)")
    }

    @Test("the anyres layout (tiles, unpadded and shrunk grids, kinds) is transformers'", arguments: images)
    func layout(_ image: String) throws {
        let file = try MappedFile(path: Fixtures.path("llava-onevision/expected.json"))
        let json = try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
        guard case .array(let entries)? = json["images"],
              let facts = entries.first(where: { $0["name"] == .string(image) }),
              case .integer(let width)? = facts["width"], case .integer(let height)? = facts["height"],
              case .integer(let tiles)? = facts["tiles"], case .array(let unpadded)? = facts["unpadded_grid"],
              case .array(let grid)? = facts["grid"], case .array(let kinds)? = facts["kinds"] else {
            Issue.record("expected.json lacks \(image)"); return
        }
        let config = try LlavaConfigReader.llavaHF(
            try withExtendedLifetime(try MappedFile(path: LlavaFixtures.path(Self.model + "/config.json"))) { try JSONParser.parse($0.bytes) },
            defaults: LlavaOnevision.defaults)
        #expect(config.anyres?.maxTiles == 9)
        let layout = try #require(config.anyresLayout(for: ImageSize(height: height, width: width)))
        #expect(layout.tileCount == tiles)
        #expect([JSONValue.integer(layout.featureRows), .integer(layout.featureColumns)] == unpadded)
        #expect([JSONValue.integer(layout.packedRows), .integer(layout.packedColumns)] == grid)
        #expect(layout.kinds.map { JSONValue.string($0.rawValue) } == kinds)
    }

    @Test func featureGridResizeIsTorchBilinear() {
        // torch.nn.functional.interpolate(torch.arange(12.).view(1, 1, 3, 4), [2, 3], mode="bilinear")
        let grid: [Float] = (0..<12).map(Float.init)
        let resized = FeatureGridResize.bilinear(grid, rows: 3, columns: 4, width: 1, toRows: 2, columns: 3)
        let torch: [Float] = [1.1666666, 2.5, 3.8333335, 7.1666665, 8.5, 9.833333]
        #expect(zip(resized, torch).allSatisfy { abs($0 - $1) < 1e-5 }, "\(resized)")
        // Python's float // as transformers sizes the shrink: 10 // 1.2171612389003692 == 8.0.
        #expect(FeatureGridResize.pythonFloorDivide(10, 1.2171612389003692) == 8)
        #expect(FeatureGridResize.pythonFloorDivide(6, 3) == 2 && FeatureGridResize.pythonFloorDivide(0.3, 0.1) == 2)
    }
}
