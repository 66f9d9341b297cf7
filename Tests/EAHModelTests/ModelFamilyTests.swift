import EAHCheckpoint
import Foundation
@testable import EAHModel
import EAHTestSupport
import Testing

/// The family registry: detection in one place, and what a loaded model tells the runtime.
@Suite struct ModelFamilyTests {
    let m1 = "m1-gqa-bias/"

    @Test func everyLayoutRecordsItsFamilyAndCompanions() throws {
        let hf = try ModelFamilies.load(ModelRequest(model: LlavaFixtures.path(m1 + "hf-current")))
        #expect(hf.companions.family == "llava-1.5")
        #expect(hf.companions.tokenizer == .folder(LlavaFixtures.path(m1 + "hf-current")))
        #expect(hf.companions.imageIsToken && !hf.companions.isGGUF && hf.companions.bundled.isEmpty)
        #expect(hf.companions.architecture == "LlavaForConditionalGeneration")

        let tower = LlavaFixtures.path(m1 + "clip-vision")
        let original = try ModelFamilies.load(ModelRequest(model: LlavaFixtures.path(m1 + "original"), visionTower: tower))
        #expect(original.companions.preprocessor == .folder(tower))
        #expect(original.companions.bundled.map(\.kind) == [.visionTower])
        #expect(!original.companions.imageIsToken)

        let text = LlavaFixtures.path(m1 + "gguf/text-f32.gguf"), mmproj = LlavaFixtures.path(m1 + "gguf/mmproj-f32.gguf")
        let gguf = try ModelFamilies.load(ModelRequest(model: text, mmproj: mmproj))
        #expect(gguf.companions.tokenizer == .ggufMetadata(text))
        #expect(gguf.companions.preprocessor == .mmproj(mmproj))
        #expect(gguf.companions.isGGUF && gguf.companions.imageMode == "pad")
        #expect(gguf.companions.bundled.map(\.kind) == [.mmproj])
    }

    @Test func bakeTargetsComeFromTheNamingTable() throws {
        let hf = try ModelFamilies.load(ModelRequest(model: LlavaFixtures.path(m1 + "hf-current")))
        let targets = hf.bakeTargets(layer: 1)
        #expect(targets.map(\.name) == ["model.language_model.layers.1.self_attn.q_proj.weight", "model.language_model.layers.1.self_attn.q_proj.bias",
                                        "model.language_model.layers.1.self_attn.k_proj.weight", "model.language_model.layers.1.self_attn.k_proj.bias"])
        #expect(targets.map(\.perKVHead) == [false, false, true, true])
        let gguf = try ModelFamilies.load(ModelRequest(model: LlavaFixtures.path(m1 + "gguf/text-f32.gguf"), mmproj: LlavaFixtures.path(m1 + "gguf/mmproj-f32.gguf")))
        #expect(gguf.bakeTargets(layer: 0).map(\.name) == ["blk.0.attn_q.weight", "blk.0.attn_q.bias", "blk.0.attn_k.weight", "blk.0.attn_k.bias"])
    }

    @Test func anUnknownModelTypeIsRefusedNamingTheSupportedOnes() throws {
        let folder = TemporaryDirectory()
        let source = LlavaFixtures.path(m1 + "hf-current")
        folder.write("model.safetensors", Array(FileManager.default.contents(atPath: source + "/model.safetensors") ?? Data()))
        var config = try String(contentsOfFile: source + "/config.json", encoding: .utf8)
        config = config.replacingOccurrences(of: "\"model_type\": \"llava\"", with: "\"model_type\": \"smolvlm\"")
        #expect(config.contains("smolvlm"))
        folder.write("config.json", Array(config.utf8))
        #expect {
            try ModelFamilies.load(ModelRequest(model: folder.path))
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem == .badConfig(field: "model_type", reason: "is 'smolvlm'; supported: gemma3, gemma3_text, internvl, internvl_chat, llama, llava, llava_next, llava_onevision, mistral, qwen2, qwen2_5_vl, qwen2_vl")
        }
    }

    /// An original-release checkpoint whose config says `image_aspect_ratio: anyres` is NeXT; one
    /// without NeXT's `mm_patch_merge_type: spatial_unpad` is refused naming the key.
    @Test func llavaNextInTheOriginalLayoutWithoutSpatialUnpadIsRefusedClearly() throws {
        let folder = TemporaryDirectory()
        let source = LlavaFixtures.path(m1 + "original")
        for name in try FileManager.default.contentsOfDirectory(atPath: source) {
            var bytes = Array(FileManager.default.contents(atPath: source + "/" + name) ?? Data())
            if name == "config.json" {
                let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"image_aspect_ratio\": \"pad\"", with: "\"image_aspect_ratio\": \"anyres\"")
                #expect(text.contains("anyres"))
                bytes = Array(text.utf8)
            }
            folder.write(name, bytes)
        }
        #expect {
            try ModelFamilies.load(ModelRequest(model: folder.path, visionTower: LlavaFixtures.path(m1 + "clip-vision")))
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem == .badConfig(
                field: "mm_patch_merge_type", reason: "is 'flat'; only spatial_unpad (LLaVA-NeXT's release) is supported")
        }
    }

    @Test func detectionIsData() {
        #expect(WeightLayout.detect(names: ["v.blk.0.ln1.weight"], architecture: nil) == .llamaCppMMProj)
        #expect(WeightLayout.detect(names: ["x"], architecture: "clip") == .llamaCppMMProj)
        #expect(WeightLayout.detect(names: ["multi_modal_projector.linear_1.weight"], architecture: nil) == .unknown)
        #expect(WeightLayout.detect(names: ["multi_modal_projector.linear_1.weight", "vision_tower.vision_model.post_layernorm.weight"], architecture: nil) == .llavaHF)
        #expect(WeightNameTable.isIgnorable("model.vision_tower.vision_tower.vision_model.encoder.layers.0.mlp.fc1.weight"))
        #expect(!WeightNameTable.isIgnorable("model.vision_tower.encoder.layers.0.mlp.fc1.weight"))
    }

    @Test func promptLayoutsKeepKindsAndPositionIDs() {
        let prompt = LlavaPrompt(tokens: [1, 2, 3, 4, 5, 6], imagePositions: [1, 2, 4])
        #expect(prompt.image.runs == [ImageLayout.Run(start: 1, kinds: [.base, .base]), ImageLayout.Run(start: 4, kinds: [.base])])
        #expect(prompt.imagePositions == [1, 2, 4])
        #expect(prompt.positionIDs == [0, 1, 2, 3, 4, 5] && prompt.nextPositionID == 6)
        let layout = ImageLayout(runs: [ImageLayout.Run(start: 3, kinds: [.base, .tile, .tile, .newline])])
        #expect(layout.countsByKind == [.base: 1, .tile: 2, .newline: 1])
        #expect(LlavaPrompt(tokens: [0, 0, 0], image: ImageLayout(), positionIDs: [0, 5, 9]).nextPositionID == 10)
    }
}
