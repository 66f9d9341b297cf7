import EAHCheckpoint
import EAHCore
import EAHModel
import EAHTestSupport
import Testing

/// Qwen2-VL and Qwen2.5-VL against transformers 5.24 (tools/make_qwen2vl_fixtures.py): tiny
/// random models saved with their processors, four images (one below min_pixels, two above
/// max_pixels), eager attention.
@Suite("Qwen2-VL family vs transformers")
struct Qwen2VLTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let model: String
        let layout: String
        let image: Int
        var testDescription: String { "\(model)/\(layout) image \(image)" }
        /// Logits and greedy tokens: transformers'; for the Qwen2.5-VL GGUF those with 112-pixel
        /// windows, as llama.cpp runs its mmproj (inputs still from `expected.safetensors`).
        var expected: String { "../qwen2vl/\(model)/expected.safetensors" }
        var expectedOutputs: String { model == "qwen25vl" && layout == "gguf" ? "../qwen2vl/qwen25vl/gguf/expected-window112.safetensors" : expected }
        var folder: String { Fixtures.path("qwen2vl/\(model)/\(layout)") }
    }

    static let cases: [Case] = ["hf-save", "hf-inmemory", "gguf"].flatMap { layout in (0..<4).map { Case(model: "qwen2vl", layout: layout, image: $0) } }
        + ["hf-save", "gguf"].flatMap { layout in (0..<4).map { Case(model: "qwen25vl", layout: layout, image: $0) } }

    static func grid(_ values: [Int]) -> PatchGrid { PatchGrid(t: values[0], h: values[1], w: values[2]) }

    @Test("token ids, M-RoPE positions, prompt and decode logits and greedy tokens equal transformers'", arguments: cases)
    func matchesTransformers(_ testCase: Case) throws {
        let k = testCase.image, file = testCase.expected
        let weights = testCase.layout == "gguf"
            ? try Qwen2VLLoader.load(gguf: testCase.folder + "/text-f32.gguf", mmproj: testCase.folder + "/mmproj-f32.gguf")
            : try Qwen2VLLoader.load(model: testCase.folder)
        let model = Qwen2VLModel(weights: weights)
        let pixels = try #require(LlavaFixtures.floats(file, "pixel_values_\(k)"))
        let grid = Self.grid(try #require(LlavaFixtures.integers(file, "grid_\(k)")))
        let templateIDs = try #require(LlavaFixtures.integers(file, "template_ids_\(k)"))
        let inputIDs = try #require(LlavaFixtures.integers(file, "input_ids_\(k)"))
        let positions = try #require(LlavaFixtures.integers(file, "position_ids_\(k)"))
        let expectedLogits = try #require(LlavaFixtures.floats(testCase.expectedOutputs, "logits_\(k)"))
        let generated = try #require(LlavaFixtures.integers(testCase.expectedOutputs, "generated_\(k)"))

        let prompt = try Qwen2VLPrompt.make(ids: templateIDs, grids: [grid], config: model.config)
        #expect(prompt.tokens == inputIDs)
        #expect(prompt.positionRows.flatMap { $0 } == positions)
        #expect(prompt.imagePositions == inputIDs.indices.filter { inputIDs[$0] == model.config.imageTokenID })
        let result = try model.generate(prompt: prompt, pixelValues: [pixels], maxTokens: generated.count, collectLogits: true)
        #expect(result.tokens == generated)
        let logits = try #require(result.logits)
        #expect(logits.count == expectedLogits.count)
        let worst = zip(logits, expectedLogits).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        print("\(testCase.testDescription): \(prompt.imagePositions.count) image tokens, \(logits.count / model.config.text.vocabSize) logit rows, max |Δ|/(1+|x|) \(worst)")
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }

    @Test("an already expanded run is kept; a wrong run length or a stray id is refused")
    func promptExpansion() throws {
        let config = try Qwen2VLLoader.load(model: Fixtures.path("qwen2vl/qwen2vl/hf-save")).config
        let pad = config.imageTokenID, grid = PatchGrid(t: 1, h: 4, w: 6)
        let expanded = try Qwen2VLPrompt.make(ids: [1, pad, 2], grids: [grid], config: config)
        #expect(expanded.tokens == [1] + [Int](repeating: pad, count: 6) + [2])
        #expect(try Qwen2VLPrompt.make(ids: expanded.tokens, grids: [grid], config: config) == expanded)
        // Text after the image resumes at start + max(h, w) / merge = 1 + 3.
        #expect(expanded.positionRows[0] == [0, 1, 1, 1, 1, 1, 1, 4])
        #expect(expanded.positionRows[1] == [0, 1, 1, 1, 2, 2, 2, 4])
        #expect(expanded.positionRows[2] == [0, 1, 2, 3, 1, 2, 3, 4])
        #expect(expanded.nextPositionID == 5)
        #expect(throws: ModelProblem.badInput("image 0 needs one <|image_pad|> or 6, found a run of 2")) {
            try Qwen2VLPrompt.make(ids: [pad, pad], grids: [grid], config: config)
        }
        #expect(throws: ModelProblem.badInput("token id 9999 at position 1 is outside the vocabulary (0..<320)")) {
            try Qwen2VLPrompt.make(ids: [pad, 9999], grids: [grid], config: config)
        }
        #expect(throws: ModelProblem.badInput("the prompt needs 577 tokens (576 for the image) and positions up to 24, but the model's context is 512 (max_position_embeddings); use a smaller image or lower the processor's max_pixels")) {
            try Qwen2VLPrompt.make(ids: [pad, 1], grids: [PatchGrid(t: 1, h: 48, w: 48)], config: config)
        }
        #expect(throws: ModelProblem.badInput("2 images but 1 <|image_pad|> runs in the ids")) {
            try Qwen2VLPrompt.make(ids: [pad], grids: [grid, grid], config: config)
        }
    }

    @Test("the hub's flat config form reads as the nested one")
    func flatConfig() throws {
        let nested = try Qwen2VLLoader.load(model: Fixtures.path("qwen2vl/qwen2vl/hf-save")).config
        let json = try JSONParser.parse(Array("""
        {"model_type": "qwen2_vl", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
         "num_key_value_heads": 2, "vocab_size": 320, "rms_norm_eps": 1e-6, "max_position_embeddings": 512, "rope_theta": 10000.0,
         "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]}, "tie_word_embeddings": true, "hidden_act": "silu",
         "eos_token_id": 315, "image_token_id": 318, "vision_start_token_id": 316, "vision_end_token_id": 317,
         "vision_config": {"depth": 3, "embed_dim": 32, "num_heads": 2, "mlp_ratio": 2, "hidden_size": 64, "patch_size": 4,
                           "spatial_merge_size": 2, "temporal_patch_size": 2, "hidden_act": "quick_gelu"}}
        """.utf8))
        #expect(try Qwen2VLConfigReader.read(json) == nested)
    }

    @Test("bad configs name the field")
    func badConfigs() throws {
        func read(_ text: String) throws(ModelProblem) -> Qwen2VLConfig {
            try Qwen2VLConfigReader.read(try! JSONParser.parse(Array(text.utf8)))
        }
        #expect(throws: ModelProblem.badConfig(field: "text_config.rope_parameters.mrope_section", reason: "([2, 3, 4]) must be three sizes summing to head_dim / 2 (8)")) {
            try read(#"{"model_type": "qwen2_vl", "text_config": {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 4]}}, "vision_config": {"hidden_size": 64}}"#)
        }
        #expect(throws: ModelProblem.badConfig(field: "model_type", reason: "is 'llava', expected 'qwen2_vl' or 'qwen2_5_vl'")) {
            try read(#"{"model_type": "llava"}"#)
        }
        #expect(throws: ModelProblem.badConfig(field: "vision_config.fullatt_block_indexes", reason: "holds a value outside 0..<3")) {
            try read(#"{"model_type": "qwen2_5_vl", "text_config": {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "rope_parameters": {"mrope_section": [2, 3, 3]}}, "vision_config": {"depth": 3, "out_hidden_size": 64, "fullatt_block_indexes": [3]}}"#)
        }
    }

    @Test("pixel values that do not fit the grid are refused")
    func badPixels() throws {
        let model = Qwen2VLModel(weights: try Qwen2VLLoader.load(model: Fixtures.path("qwen2vl/qwen2vl/hf-save")))
        #expect(throws: ModelProblem.badPixelValues("pixel values hold 10 floats; grid (1, 4, 4) needs 16 patches of 96")) {
            try model.imageFeatures(pixelValues: [Float](repeating: 0, count: 10), grid: PatchGrid(t: 1, h: 4, w: 4))
        }
        #expect(throws: ModelProblem.badPixelValues("image grid (1, 3, 4) must be positive with h and w multiples of the merge size 2")) {
            try model.imageFeatures(pixelValues: [], grid: PatchGrid(t: 1, h: 3, w: 4))
        }
    }

    /// A copy of the Qwen2-VL fixture's hf-save folder with its tensor list edited.
    static func editedCopy(_ edit: (inout [(name: String, dtype: DType, shape: [Int], bytes: [UInt8])]) -> Void) throws -> TemporaryDirectory {
        let folder = Fixtures.path("qwen2vl/qwen2vl/hf-save")
        let reader = try Checkpoint.open(folder + "/model.safetensors")
        var tensors = try reader.tensors.map { info in (name: info.name, dtype: info.dtype, shape: info.shape, bytes: try reader.bytes(of: info).withUnsafeBytes { Array($0) }) }
        edit(&tensors)
        tensors.sort { $0.name < $1.name }  // the writer lays tensors out by name
        let directory = TemporaryDirectory()
        let writer = try SafetensorsWriter(path: directory.file("model.safetensors"), overwrite: false,
                                           tensors: tensors.map { TensorPlan(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
        for tensor in tensors { try writer.write(tensor.bytes) }
        try writer.finish()
        let config = try MappedFile(path: folder + "/config.json")
        directory.write("config.json", withExtendedLifetime(config) { Array(config.bytes) })
        return directory
    }

    @Test("a GGUF pair that is not Qwen2-VL's is refused, naming the key")
    func badGGUF() throws {
        let folder = Fixtures.path("qwen2vl/qwen2vl/gguf/")
        func problem(_ text: String, _ mmproj: String) -> ModelProblem? {
            do { _ = try Qwen2VLLoader.load(gguf: folder + text, mmproj: folder + mmproj); return nil } catch { return error.problem as? ModelProblem }
        }
        #expect(problem("mmproj-f32.gguf", "mmproj-f32.gguf") == .badConfig(field: "general.architecture", reason: "is 'clip'; a Qwen2-VL text model is 'qwen2vl'"))
        #expect(problem("text-f32.gguf", "text-f32.gguf") == .badConfig(field: "clip.projector_type", reason: "is ''; a Qwen2-VL mmproj is 'qwen2vl_merger', a Qwen2.5-VL one 'qwen2.5vl_merger'"))
    }

    @Test("missing, misshapen and unknown tensors are named")
    func badCheckpoints() throws {
        func problem(_ directory: TemporaryDirectory) -> ModelProblem? {
            do { _ = try Qwen2VLLoader.load(model: directory.path); return nil } catch { return error.problem as? ModelProblem }
        }
        let missing = try Self.editedCopy { $0.removeAll { $0.name == "visual.merger.mlp.2.bias" } }
        #expect(problem(missing) == .missingTensors(["visual.merger.mlp.2.bias"]))
        let extra = try Self.editedCopy { $0.append((name: "visual.blocks.3.norm1.weight", dtype: .f32, shape: [1], bytes: [0, 0, 0, 0])) }
        #expect(problem(extra) == .unexpectedTensors(["visual.blocks.3.norm1.weight"]))
        let misshapen = try Self.editedCopy { tensors in
            let index = tensors.firstIndex { $0.name == "visual.patch_embed.proj.weight" }!
            tensors[index].shape = [32, 3, 1, 8, 4]
        }
        #expect(problem(misshapen) == .wrongShape(tensor: "visual.patch_embed.proj.weight", expected: [32, 3, 2, 4, 4], actual: [32, 3, 1, 8, 4]))
        let notQwen = try Self.editedCopy { $0.removeAll { $0.name.hasPrefix("visual.") } }
        #expect(problem(notQwen) == .unsupportedLayout("holds no Qwen2-VL tensors (model.embed_tokens and visual.patch_embed, or their model.language_model / model.visual forms)"))
    }
}

extension Qwen2VLTests {
    @Test("detection names Qwen2-VL's layouts, and the registry loads each as the family-agnostic model")
    func detectionAndRegistry() throws {
        let base = Fixtures.path("qwen2vl/qwen2vl/")
        #expect(WeightLayout.detect(try Checkpoint.open(base + "hf-save/model.safetensors")) == .qwen2VLHF)
        #expect(WeightLayout.detect(try Checkpoint.open(base + "hf-inmemory/model.safetensors")) == .qwen2VLHFCurrent)
        #expect(WeightLayout.detect(try Checkpoint.open(base + "gguf/text-f32.gguf")) == .llamaCppText)
        let hub = try ModelFamilies.load(ModelRequest(model: base + "hf-save"))
        #expect(hub is Qwen2VLModel && hub.family == "qwen2-vl" && hub.layoutName == "qwen2-vl-hf")
        #expect(hub.companions.architecture == "Qwen2VLForConditionalGeneration" && hub.companions.tokenizer == .folder(base + "hf-save"))
        #expect(hub.bakeTargets(layer: 1).map(\.name) == ["model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.q_proj.bias",
                                                         "model.layers.1.self_attn.k_proj.weight", "model.layers.1.self_attn.k_proj.bias"])
        #expect(hub.bakeTargets(layer: 1).map(\.perKVHead) == [false, false, true, true])
        let current = try ModelFamilies.load(ModelRequest(model: base + "hf-inmemory"))
        #expect(current.layoutName == "qwen2-vl-hf-current")
        #expect(current.bakeTargets(layer: 0).first?.name == "model.language_model.layers.0.self_attn.q_proj.weight")
        let gguf = try ModelFamilies.load(ModelRequest(model: base + "gguf/text-f32.gguf", mmproj: base + "gguf/mmproj-f32.gguf"))
        #expect(gguf.family == "qwen2-vl" && gguf.companions.isGGUF && gguf.companions.bundled.map(\.kind) == [.mmproj])
        #expect(gguf.bakeTargets(layer: 0).map(\.name) == ["blk.0.attn_q.weight", "blk.0.attn_q.bias", "blk.0.attn_k.weight", "blk.0.attn_k.bias"])
        let qwen25 = try ModelFamilies.load(ModelRequest(model: Fixtures.path("qwen2vl/qwen25vl/hf-save")))
        #expect(qwen25.family == "qwen2.5-vl")
        #expect(throws: CheckpointError.self) { try ModelFamilies.load(ModelRequest(model: base + "gguf/text-f32.gguf")) }
    }
}
