import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import EAHModel
import EAHTestSupport
import Testing

/// InternVL (transformers `-hf` layout) against transformers 5.24 (tools/make_internvl_fixtures.py):
/// two tiny random models (InternViT-300M-like with LayerNorm and qkv bias; 6B-like with RMSNorm and
/// QK-norm) saved with their processors, four images (2×3 tiles + thumbnail, one tile, 6×2 tiles +
/// thumbnail, 2×2 + thumbnail), eager attention.
@Suite("InternVL family vs transformers")
struct InternVLTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let model: String
        let image: Int
        var testDescription: String { "\(model) image \(image)" }
        var expected: String { "../internvl/\(model)/expected.safetensors" }
        var folder: String { Fixtures.path("internvl/\(model)/hf-save") }
    }

    static let models = ["internvl", "internvl-rms"]
    static let cases: [Case] = models.flatMap { model in (0..<4).map { Case(model: model, image: $0) } }

    /// `facts.json`'s entry for image `k`: the rendered prompt, its file and tile count.
    static func facts(_ model: String, _ k: Int) throws -> (prompt: String, file: String, tiles: Int) {
        let file = try MappedFile(path: Fixtures.path("internvl/\(model)/facts.json"))
        let json = try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
        guard case .array(let images)? = json["images"], case .string(let prompt)? = images[k]["prompt"],
              case .string(let name)? = images[k]["file"], case .integer(let tiles)? = images[k]["tiles"] else {
            throw CheckpointError(path: "internvl/\(model)/facts.json", problem: ModelProblem.badInput("facts.json lacks image \(k)"))
        }
        return (prompt, name, tiles)
    }

    @Test("pixel values, tile count and token ids equal the processor's; prompt and decode logits and greedy tokens equal transformers'", arguments: cases)
    func matchesTransformers(_ testCase: Case) throws {
        let k = testCase.image, file = testCase.expected
        let model = try ModelFamilies.load(ModelRequest(model: testCase.folder))
        let internVL = try #require(model as? InternVLModel)
        let facts = try Self.facts(testCase.model, k)
        let tokenizer = try TokenizerFile.load(path: try ModelFiles.tokenizer(in: testCase.folder))
        let processor = try model.makeProcessor(tokenizer: tokenizer, imageMode: nil)
        let expectedPixels = try #require(LlavaFixtures.floats(file, "pixel_values_\(k)"))
        let inputIDs = try #require(LlavaFixtures.integers(file, "input_ids_\(k)"))
        let expectedLogits = try #require(LlavaFixtures.floats(file, "logits_\(k)"))
        let generated = try #require(LlavaFixtures.integers(file, "generated_\(k)"))

        // The processor: tiles and their pixel values.
        let image = try processor.prepare(try ImageDecoder().decode(path: Fixtures.path("images/valid/" + facts.file)), origin: facts.file)
        let tileLength = internVL.config.vision.tileLength
        #expect(image.pixelValues.count == facts.tiles * tileLength)
        #expect(image.pixelValues.count == expectedPixels.count)
        let differences = zip(image.pixelValues, expectedPixels).map { abs($0 - $1) }
        let worstPixel = differences.max() ?? .infinity, meanPixel = differences.reduce(0, +) / Float(max(differences.count, 1))
        if facts.file.hasSuffix(".png") {
            #expect(worstPixel == 0, "\(facts.file): max abs pixel diff \(worstPixel)")
        } else {
            // JPEG: libjpeg-turbo's and Pillow's IDCT may round a few samples differently (as in the CLIP tests).
            #expect(worstPixel <= 0.03 && meanPixel <= 0.003, "\(facts.file): max \(worstPixel) mean \(meanPixel)")
        }

        // Token ids: the rendered prompt through the family's processor, and ids already expanded.
        let input = try model.prepare(ids: processor.encode(facts.prompt, addBOS: true), images: [image])
        #expect(input.tokens == inputIDs)
        #expect(input.imagePositions == inputIDs.indices.filter { inputIDs[$0] == internVL.config.imageTokenID })
        #expect(try model.prepare(ids: inputIDs, images: [image]) == input)
        let kinds = input.image.countsByKind
        #expect(facts.tiles == 1 ? kinds == [.base: 16] : kinds == [.tile: 16 * (facts.tiles - 1), .thumbnail: 16])

        // The forward pass on transformers' own pixel values.
        let pixels = PreparedImage(pixelValues: expectedPixels, size: nil)
        let result = try model.generate(try model.prepare(ids: inputIDs, images: [pixels]), images: [pixels], maxTokens: generated.count,
                                        collectLogits: true)
        #expect(result.tokens == generated)
        let logits = try #require(result.logits)
        #expect(logits.count == expectedLogits.count)
        let worst = zip(logits, expectedLogits).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        print("\(testCase.testDescription): \(facts.tiles) tiles, \(input.imagePositions.count) image tokens, pixels max \(worstPixel), logits max |Δ|/(1+|x|) \(worst)")
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }

    @Test("the tile grid is the closest aspect within max tiles, ties to more tiles while the image is large enough")
    func tileGrid() {
        func grid(_ h: Int, _ w: Int, max: Int = 12) -> [Int] {
            let g = GotOcr2ImageProcessor.tileGrid(height: h, width: w, tile: (32, 32), minPatches: 1, maxPatches: max)
            return [g.columns, g.rows]
        }
        #expect(grid(53, 37) == [2, 3])   // (4, 6) ties but 37·53 ≤ ½·32²·24
        #expect(grid(97, 301) == [6, 2])  // ties with (3, 1) and the image is large enough for 12 tiles
        #expect(grid(64, 64) == [2, 2])
        #expect(grid(1, 1) == [1, 1])
        #expect(grid(97, 301, max: 2) == [2, 1])
    }

    @Test("prompts: a wrong run length, a stray id, a missing image and bad pixel values are refused")
    func badPrompts() throws {
        let model = try ModelFamilies.load(ModelRequest(model: Fixtures.path("internvl/internvl/hf-save")))
        let context = try #require(model as? InternVLModel).config.imageTokenID
        let tile = PreparedImage(pixelValues: [Float](repeating: 0, count: 3 * 32 * 32), size: nil)
        #expect(throws: ModelProblem.badInput("image 0 (1 tiles) needs one <IMG_CONTEXT> or 16, found a run of 2")) {
            try model.prepare(ids: [1, context, context, 2], images: [tile])
        }
        #expect(throws: ModelProblem.badInput("token id 9999 at position 1 is outside the vocabulary (0..<320)")) {
            try model.prepare(ids: [context, 9999], images: [tile])
        }
        #expect(throws: ModelProblem.badInput("the prompt needs 616 tokens (16 for the images) but the model's context is 512 (max_position_embeddings); use fewer tiles (the processor's max_patches) or a shorter prompt")) {
            try model.prepare(ids: [Int](repeating: 1, count: 600) + [context], images: [tile])
        }
        #expect(throws: ModelProblem.badInput("2 images but 1 <IMG_CONTEXT> runs in the ids")) {
            try model.prepare(ids: [context], images: [tile, tile])
        }
        #expect(throws: ModelProblem.badInput("the ids hold more <IMG_CONTEXT> runs than images (0)")) {
            try model.prepare(ids: [context], images: [])
        }
        #expect(throws: ModelProblem.badPixelValues("pixel values hold 10 floats, not a positive multiple of one 3×32×32 tile (3072)")) {
            try model.prepare(ids: [context], images: [PreparedImage(pixelValues: [Float](repeating: 0, count: 10), size: nil)])
        }
    }

    @Test("the registry loads both InternViT variants as the family-agnostic model, with Qwen2 bake targets")
    func registry() throws {
        for name in Self.models {
            let model = try ModelFamilies.load(ModelRequest(model: Fixtures.path("internvl/\(name)/hf-save")))
            #expect(model.family == "internvl" && model.layoutName == "internvl-hf")
            #expect(model.companions.architecture == "InternVLForConditionalGeneration")
            #expect(ModelFamilies.layoutDescription(try Checkpoint.open(Fixtures.path("internvl/\(name)/hf-save/model.safetensors"))) == "internvl-hf")
            #expect(model.bakeTargets(layer: 1).map(\.name) == ["language_model.model.layers.1.self_attn.q_proj.weight", "language_model.model.layers.1.self_attn.q_proj.bias",
                                                               "language_model.model.layers.1.self_attn.k_proj.weight", "language_model.model.layers.1.self_attn.k_proj.bias"])
            #expect(model.bakeTargets(layer: 0).map(\.perKVHead) == [false, false, true, true])
        }
        let rms = try #require(try ModelFamilies.load(ModelRequest(model: Fixtures.path("internvl/internvl-rms/hf-save"))) as? InternVLModel)
        #expect(rms.config.vision.norm == .rmsNorm && rms.config.vision.qkNorm && !rms.config.vision.qkvBias && !rms.config.text.tiedHead)
        #expect(rms.config.tokensPerTile == 16 && rms.config.shuffledWidth == 128)
    }

    @Test("transformers 5's in-memory names (model.language_model.*, model.vision_tower.*, lm_head) give the same logits", arguments: models)
    func inMemoryNames(_ model: String) throws {
        let folder = Fixtures.path("internvl/\(model)/hf-save")
        let reader = try Checkpoint.open(folder + "/model.safetensors")
        func renamed(_ name: String) -> String {
            if name.hasPrefix("language_model.model.") { return "model.language_model." + name.dropFirst("language_model.model.".count) }
            if name == "language_model.lm_head.weight" { return "lm_head.weight" }
            return "model." + name
        }
        let tensors = try reader.tensors.map { info in (name: renamed(info.name), dtype: info.dtype, shape: info.shape, bytes: try reader.bytes(of: info).withUnsafeBytes { Array($0) }) }
            .sorted { $0.name < $1.name }
        let directory = TemporaryDirectory()
        let writer = try SafetensorsWriter(path: directory.file("model.safetensors"), overwrite: false,
                                           tensors: tensors.map { TensorPlan(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
        for tensor in tensors { try writer.write(tensor.bytes) }
        try writer.finish()
        let config = try MappedFile(path: folder + "/config.json")
        directory.write("config.json", withExtendedLifetime(config) { Array(config.bytes) })
        let loaded = try ModelFamilies.load(ModelRequest(model: directory.path))
        #expect(loaded.layoutName == "internvl-hf-current")
        #expect(loaded.bakeTargets(layer: 0).first?.name == "model.language_model.layers.0.self_attn.q_proj.weight")
        let file = "../internvl/\(model)/expected.safetensors"
        let image = PreparedImage(pixelValues: try #require(LlavaFixtures.floats(file, "pixel_values_1")), size: nil)
        let ids = try #require(LlavaFixtures.integers(file, "input_ids_1")), generated = try #require(LlavaFixtures.integers(file, "generated_1"))
        let result = try loaded.generate(try loaded.prepare(ids: ids, images: [image]), images: [image], maxTokens: generated.count, collectLogits: true)
        let expected = try #require(LlavaFixtures.floats(file, "logits_1"))
        let logits = try #require(result.logits)
        #expect(result.tokens == generated)
        #expect(logits.count == expected.count && zip(logits, expected).allSatisfy { abs($0 - $1) <= 1e-4 * (1 + abs($1)) })
    }

    @Test("bad configs name the field")
    func badConfigs() throws {
        func read(_ text: String) throws(ModelProblem) -> InternVLConfig {
            try InternVLConfigReader.read(try! JSONParser.parse(Array(text.utf8)))
        }
        #expect(throws: ModelProblem.badConfig(field: "model_type", reason: "is 'llava', expected 'internvl'")) {
            try read(#"{"model_type": "llava"}"#)
        }
        let text = #""text_config": {"model_type": "qwen2", "vocab_size": 320, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2}"#
        #expect(throws: ModelProblem.badConfig(field: "downsample_ratio", reason: "(0.3) must be 1/n with n dividing the 8 patches per side")) {
            try read(#"{"model_type": "internvl", "downsample_ratio": 0.3, "image_token_id": 5, "#
                     + text + #", "vision_config": {"hidden_size": 32, "num_attention_heads": 2, "image_size": [32, 32], "patch_size": [4, 4]}}"#)
        }
        #expect(throws: ModelProblem.badConfig(field: "vision_config.norm_type", reason: "is 'batch_norm'; expected layer_norm or rms_norm")) {
            try read(#"{"model_type": "internvl", "image_token_id": 5, "# + text + #", "vision_config": {"norm_type": "batch_norm"}}"#)
        }
        #expect(throws: ModelProblem.badConfig(field: "image_seq_length", reason: "(256) must be (patches per side · downsample_ratio)² = 16")) {
            try read(#"{"model_type": "internvl", "image_token_id": 5, "image_seq_length": 256, "# + text
                     + #", "vision_config": {"hidden_size": 32, "num_attention_heads": 2, "image_size": 32, "patch_size": 4}}"#)
        }
        #expect(throws: ModelProblem.badConfig(field: "vision_config.image_size", reason: "must be a positive size or a [height, width] pair of equal sizes")) {
            try read(#"{"model_type": "internvl", "image_token_id": 5, "# + text + #", "vision_config": {"image_size": [32, 48]}}"#)
        }
    }

    @Test("missing, misshapen and unknown tensors are named")
    func badCheckpoints() throws {
        func edited(_ edit: (inout [(name: String, dtype: DType, shape: [Int], bytes: [UInt8])]) -> Void) throws -> ModelProblem? {
            let folder = Fixtures.path("internvl/internvl/hf-save")
            let reader = try Checkpoint.open(folder + "/model.safetensors")
            var tensors = try reader.tensors.map { info in (name: info.name, dtype: info.dtype, shape: info.shape, bytes: try reader.bytes(of: info).withUnsafeBytes { Array($0) }) }
            edit(&tensors)
            tensors.sort { $0.name < $1.name }
            let directory = TemporaryDirectory()
            let writer = try SafetensorsWriter(path: directory.file("model.safetensors"), overwrite: false,
                                               tensors: tensors.map { TensorPlan(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
            for tensor in tensors { try writer.write(tensor.bytes) }
            try writer.finish()
            let config = try MappedFile(path: folder + "/config.json")
            directory.write("config.json", withExtendedLifetime(config) { Array(config.bytes) })
            do { _ = try InternVLLoader.load(model: directory.path); return nil } catch { return error.problem as? ModelProblem }
        }
        #expect(try edited { $0.removeAll { $0.name == "vision_tower.encoder.layer.1.lambda_2" } } == .missingTensors(["vision_tower.encoder.layer.1.lambda_2"]))
        #expect(try edited { $0.append((name: "vision_tower.layernorm.weight", dtype: .f32, shape: [1], bytes: [0, 0, 0, 0])) }
                == .unexpectedTensors(["vision_tower.layernorm.weight"]))
        #expect(try edited { tensors in
            let index = tensors.firstIndex { $0.name == "vision_tower.embeddings.position_embeddings" }!
            tensors[index].shape = [1, 64, 32]
            tensors[index].bytes.removeLast(32 * 4)
        } == .wrongShape(tensor: "vision_tower.embeddings.position_embeddings", expected: [1, 65, 32], actual: [1, 64, 32]))
        #expect(try edited { $0.removeAll { $0.name.hasPrefix("vision_tower.") } }
                == .unsupportedLayout("holds no InternVL tensors (vision_tower.embeddings.cls_token with language_model.model.embed_tokens, their model.* forms, or the release's vision_model.embeddings.class_embedding)"))
    }

    // MARK: The release layout (InternVLChatModel)

    @Test("the release layout (vision_model.*, fused attn.qkv, mlp1.*, llm_config) gives the -hf processor's pixels and ids and transformers' logits", arguments: cases)
    func originalLayout(_ testCase: Case) throws {
        let k = testCase.image, file = testCase.expected, folder = Fixtures.path("internvl/\(testCase.model)/original")
        let model = try ModelFamilies.load(ModelRequest(model: folder))
        #expect(model.family == "internvl" && model.layoutName == "internvl-original" && model.companions.architecture == "InternVLChatModel")
        #expect(ModelFamilies.layoutDescription(try Checkpoint.open(folder + "/model.safetensors")) == "internvl-original")
        let facts = try Self.facts(testCase.model, k)
        let processor = try model.makeProcessor(tokenizer: try TokenizerFile.load(path: try ModelFiles.tokenizer(in: folder)), imageMode: nil)
        let expectedPixels = try #require(LlavaFixtures.floats(file, "pixel_values_\(k)"))
        let inputIDs = try #require(LlavaFixtures.integers(file, "input_ids_\(k)"))
        let image = try processor.prepare(try ImageDecoder().decode(path: Fixtures.path("images/valid/" + facts.file)), origin: facts.file)
        let worstPixel = zip(image.pixelValues, expectedPixels).map { abs($0 - $1) }.max() ?? .infinity
        #expect(image.pixelValues.count == expectedPixels.count)
        #expect(worstPixel <= (facts.file.hasSuffix(".png") ? 0 : 0.03), "\(facts.file): max abs pixel diff \(worstPixel)")
        #expect(try model.prepare(ids: processor.encode(facts.prompt, addBOS: true), images: [image]).tokens == inputIDs)

        let pixels = PreparedImage(pixelValues: expectedPixels, size: nil)
        let generated = try #require(LlavaFixtures.integers(file, "generated_\(k)"))
        let result = try model.generate(try model.prepare(ids: inputIDs, images: [pixels]), images: [pixels], maxTokens: generated.count, collectLogits: true)
        let expected = try #require(LlavaFixtures.floats(file, "logits_\(k)")), logits = try #require(result.logits)
        #expect(result.tokens == generated)
        let worst = zip(logits, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        #expect(logits.count == expected.count && worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }

    @Test("the release layout: InternVisionConfig keys, the tokenizer's <IMG_CONTEXT> id, the tiling and Qwen2 bake targets")
    func originalConfig() throws {
        let rms = try #require(try ModelFamilies.load(ModelRequest(model: Fixtures.path("internvl/internvl-rms/original"))) as? InternVLModel)
        #expect(rms.config.vision.norm == .rmsNorm && rms.config.vision.qkNorm && !rms.config.vision.qkvBias && !rms.config.text.tiedHead)
        #expect(rms.config.imageTokenID == 318 && rms.config.tokensPerTile == 16 && rms.config.eosTokenIDs == [315])
        #expect(rms.config.tiling == InternVLTiling(tileSize: 32, dynamic: true, minTiles: 1, maxTiles: 12))
        #expect(rms.bakeTargets(layer: 2).map(\.name) == ["language_model.model.layers.2.self_attn.q_proj.weight", "language_model.model.layers.2.self_attn.q_proj.bias",
                                                         "language_model.model.layers.2.self_attn.k_proj.weight", "language_model.model.layers.2.self_attn.k_proj.bias"])
        let hf = try #require(try ModelFamilies.load(ModelRequest(model: Fixtures.path("internvl/internvl-rms/hf-save"))) as? InternVLModel)
        var expected = hf.config
        expected.tiling = rms.config.tiling
        #expect(rms.config == expected)
    }

    @Test("bad release configs name the field")
    func badOriginalConfigs() throws {
        func read(_ text: String) throws(ModelProblem) -> InternVLConfig {
            try InternVLConfigReader.readOriginal(try! JSONParser.parse(Array(text.utf8)), imageTokenID: 5)
        }
        let llm = #""llm_config": {"model_type": "qwen2", "vocab_size": 320, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2}"#
        let vision = #""vision_config": {"hidden_size": 32, "num_attention_heads": 2, "image_size": 32, "patch_size": 4}"#
        #expect(throws: ModelProblem.badConfig(field: "llm_config", reason: "is missing; the release layout's config.json holds the decoder's configuration there")) {
            try read(#"{"model_type": "internvl_chat", "# + vision + "}")
        }
        #expect(throws: ModelProblem.badConfig(field: "llm_config.architectures", reason: "is InternLM2ForCausalLM; the InternLM2 decoder (fused wqkv) is not supported yet: use an InternVL with a Qwen2 decoder (InternVL3, most InternVL2.5 sizes)")) {
            try read(#"{"model_type": "internvl_chat", "llm_config": {"architectures": ["InternLM2ForCausalLM"]}, "# + vision + "}")
        }
        #expect(throws: ModelProblem.badConfig(field: "force_image_size", reason: "(448) differs from vision_config.image_size (32); position interpolation for another tile size is not supported")) {
            try read(#"{"model_type": "internvl_chat", "force_image_size": 448, "# + llm + ", " + vision + "}")
        }
        #expect(throws: ModelProblem.badConfig(field: "ps_version", reason: "is 'v1'; only the v2 pixel shuffle (InternVL 1.5 and later) is supported")) {
            try read(#"{"model_type": "internvl_chat", "ps_version": "v1", "# + llm + ", " + vision + "}")
        }
        #expect(throws: ModelProblem.badConfig(field: "select_layer", reason: "is -4; only -1 (the last layer, as InternVL releases use) is supported")) {
            try read(#"{"model_type": "internvl_chat", "select_layer": -4, "# + llm + ", " + vision + "}")
        }
        #expect(throws: ModelProblem.badConfig(field: "vision_config.norm_type", reason: "is 'batch_norm'; expected layer_norm or rms_norm")) {
            try read(#"{"model_type": "internvl_chat", "# + llm + #", "vision_config": {"norm_type": "batch_norm"}}"#)
        }
    }

    @Test("a release folder whose tokenizer does not name <IMG_CONTEXT> is refused, naming config.json")
    func originalWithoutContextToken() throws {
        let directory = TemporaryDirectory(), folder = Fixtures.path("internvl/internvl/original")
        for name in ["config.json", "model.safetensors"] {
            let file = try MappedFile(path: folder + "/" + name)
            directory.write(name, withExtendedLifetime(file) { Array(file.bytes) })
        }
        do {
            _ = try ModelFamilies.load(ModelRequest(model: directory.path))
            Issue.record("loaded a release folder without a tokenizer")
        } catch {
            #expect(error.path == directory.file("config.json"))
            #expect(error.problem as? ModelProblem == .needsCompanion(
                "the release layout's <IMG_CONTEXT> id comes from its tokenizer, but no tokenizer file in the folder (tokenizer_config.json added_tokens_decoder, added_tokens.json, tokenizer.json) names <IMG_CONTEXT>"))
        }
    }

    // MARK: llama.cpp's files (convert_hf_to_gguf.py on the release folder)

    static let gguf = Fixtures.path("internvl/internvl/gguf")

    @Test("llama.cpp's qwen2 text GGUF with its internvl mmproj gives transformers' logits and tokens", arguments: 0..<4)
    func llamaCppFiles(_ k: Int) throws {
        let model = try ModelFamilies.load(ModelRequest(model: Self.gguf + "/text-f32.gguf", mmproj: Self.gguf + "/mmproj-f32.gguf"))
        let internVL = try #require(model as? InternVLModel)
        #expect(model.family == "internvl" && model.layoutName == "llama.cpp-text" && model.companions.isGGUF)
        let hf = try #require(try ModelFamilies.load(ModelRequest(model: Fixtures.path("internvl/internvl/hf-save"))) as? InternVLModel)
        var expectedConfig = hf.config
        expectedConfig.tiling = InternVLTiling(tileSize: 32, dynamic: true, minTiles: 1, maxTiles: 12)
        #expect(internVL.config == expectedConfig)
        #expect(model.bakeTargets(layer: 1).map(\.name) == ["blk.1.attn_q.weight", "blk.1.attn_q.bias", "blk.1.attn_k.weight", "blk.1.attn_k.bias"])

        let file = "../internvl/internvl/expected.safetensors", facts = try Self.facts("internvl", k)
        let expectedPixels = try #require(LlavaFixtures.floats(file, "pixel_values_\(k)"))
        let inputIDs = try #require(LlavaFixtures.integers(file, "input_ids_\(k)"))
        // The processor from the mmproj's keys (mean/std stored as F32) and the GGUF's own tokenizer.
        let processor = try model.makeProcessor(tokenizer: try GGUFTokenizerMetadata.load(path: Self.gguf + "/text-f32.gguf"), imageMode: nil)
        let image = try processor.prepare(try ImageDecoder().decode(path: Fixtures.path("images/valid/" + facts.file)), origin: facts.file)
        let worstPixel = zip(image.pixelValues, expectedPixels).map { abs($0 - $1) }.max() ?? .infinity
        #expect(image.pixelValues.count == expectedPixels.count)
        #expect(worstPixel <= (facts.file.hasSuffix(".png") ? 1e-5 : 0.03), "\(facts.file): max abs pixel diff \(worstPixel)")
        #expect(try model.prepare(ids: processor.encode(facts.prompt, addBOS: true), images: [image]).tokens == inputIDs)

        let pixels = PreparedImage(pixelValues: expectedPixels, size: nil)
        let generated = try #require(LlavaFixtures.integers(file, "generated_\(k)"))
        let result = try model.generate(try model.prepare(ids: inputIDs, images: [pixels]), images: [pixels], maxTokens: generated.count, collectLogits: true)
        let expected = try #require(LlavaFixtures.floats(file, "logits_\(k)")), logits = try #require(result.logits)
        #expect(result.tokens == generated)
        let worst = zip(logits, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        print("gguf image \(k): logits max |Δ|/(1+|x|) \(worst)")
        #expect(logits.count == expected.count && worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }

    @Test("llama.cpp's qwen2 text GGUF alone runs as a text-only model with transformers' Qwen2 logits")
    func qwen2TextGGUF() throws {
        let model = try ModelFamilies.load(ModelRequest(model: Self.gguf + "/text-f32.gguf"))
        #expect(model.family == "text-only" && model.companions.architecture == "qwen2 (gguf)")
        #expect(model.bakeTargets(layer: 0).map(\.name) == ["blk.0.attn_q.weight", "blk.0.attn_q.bias", "blk.0.attn_k.weight", "blk.0.attn_k.bias"])
        let file = "../internvl/internvl/gguf/expected-text.safetensors"
        let ids = try #require(LlavaFixtures.integers(file, "input_ids")), generated = try #require(LlavaFixtures.integers(file, "generated"))
        let result = try model.generate(try model.prepare(ids: ids, images: []), images: [], maxTokens: generated.count, collectLogits: true)
        let expected = try #require(LlavaFixtures.floats(file, "logits")), logits = try #require(result.logits)
        #expect(result.tokens == generated)
        let worst = zip(logits, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        #expect(logits.count == expected.count && worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }

    @Test("an mmproj of another projector or a text GGUF of another architecture is refused, naming the key")
    func badLlamaCppFiles() throws {
        do {
            _ = try InternVLLoader.load(gguf: Self.gguf + "/text-f32.gguf", mmproj: Fixtures.path("qwen2vl/qwen2vl/gguf/mmproj-f32.gguf"))
            Issue.record("loaded a Qwen2-VL mmproj as InternVL's")
        } catch {
            #expect(error.problem as? ModelProblem == .badConfig(field: "clip.projector_type", reason: "is 'qwen2vl_merger'; an InternVL mmproj is 'internvl'"))
        }
        do {
            _ = try InternVLLoader.load(gguf: Fixtures.path("qwen2vl/qwen2vl/gguf/text-f32.gguf"), mmproj: Self.gguf + "/mmproj-f32.gguf")
            Issue.record("loaded a qwen2vl text GGUF as InternVL's")
        } catch {
            #expect(error.problem as? ModelProblem == .badConfig(
                field: "general.architecture", reason: "is 'qwen2vl'; InternVL's text model is read as 'qwen2' (the InternLM2 decoder is not supported yet)"))
        }
    }

    // MARK: Export to llama.cpp's layout

    @Test("the llama.cpp export of the -hf and release layouts has the tensors (names, order, shapes, bytes at f32) and metadata llama.cpp's converter writes from the release folder",
          arguments: ["hf-save", "original"])
    func llamaCppExport(_ layout: String) throws {
        let folder = Fixtures.path("internvl/internvl/\(layout)")
        let model = try #require(try ModelFamilies.load(ModelRequest(model: folder)) as? any LlamaCppExportable)
        let export = try model.llamaCppExport(folder: folder, imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225], dtype: .f32)
        #expect(export.architecture == "qwen2" && export.projectorType == "internvl")
        for (tensors, metadata, file) in [(export.text, export.textMetadata, "text-f32.gguf"), (export.mmproj, export.mmprojMetadata, "mmproj-f32.gguf")] {
            let reference = try GGUFReader(path: Self.gguf + "/" + file)
            #expect(tensors.map(\.name) == reference.tensors.map(\.name), "\(file)")
            for (tensor, expected) in zip(tensors, reference.tensors) {
                #expect(tensor.shape == expected.shape && LlamaCppExport.outputType(of: tensor, dtype: .f32, mmprojF32: true) == expected.dtype, "\(tensor.name)")
                var bytes = try tensor.reader.bytes(of: tensor.source).withUnsafeBytes { Array($0) }
                if let part = tensor.part { bytes = part.select(bytes, innerBytes: part.innerElements * 4) }
                #expect(bytes == (try reference.bytes(of: expected).withUnsafeBytes { Array($0) }), "\(tensor.name)")
            }
            // Everything before the tokenizer; general.name is the folder's (the converter ran on `original`).
            let expected = reference.metadata.filter { !$0.key.hasPrefix("tokenizer.") && $0.key != "general.name" }
            #expect(metadata.filter { $0.key != "general.name" } == expected, "\(file)")
            #expect(metadata.first { $0.key == "general.name" }?.value == .string(layout == "original" ? "Original" : "Hf Save"))
        }
        // The tiny 6B-like tower: clip.cpp would run it with LayerNorm (it picks RMSNorm by the 6B's size only).
        let rms = try #require(try ModelFamilies.load(ModelRequest(model: Fixtures.path("internvl/internvl-rms/hf-save"))) as? any LlamaCppExportable)
        for (exportable, dtype, reason) in [
            (rms, ConversionOptions.TargetDType.f32, "the vision tower's RMSNorm at width 32 with 2 blocks: llama.cpp uses RMSNorm exactly for the 6B tower (3200 wide, 45 blocks)"),
            (model, .q4_0, "llama.cpp's converters write f32, f16, bf16 or q8_0; write q8_0 or f16 and quantize further with llama-quantize"),
        ] {
            do {
                try exportable.checkLlamaCppExport(folder: folder, dtype: dtype)
                Issue.record("no refusal: \(reason)")
            } catch {
                #expect(error.reason == reason)
            }
        }
    }
}
