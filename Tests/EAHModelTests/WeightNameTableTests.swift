@testable import EAHModel
import Testing

@Suite struct WeightNameTableTests {
    typealias T = WeightNameTable

    @Test func namesInEveryLayout() {
        let q = WeightRole(.query, layer: 3)
        #expect(T.name(q, in: T.llavaHF) == "language_model.model.layers.3.self_attn.q_proj.weight")
        #expect(T.name(q, in: T.llavaHFCurrent) == "model.language_model.layers.3.self_attn.q_proj.weight")
        #expect(T.name(q, in: T.llavaOriginal) == "model.layers.3.self_attn.q_proj.weight")
        #expect(T.name(q, in: T.gguf) == "blk.3.attn_q.weight")
        #expect(T.name(WeightRole(.lmHead), in: T.llavaHF) == "language_model.lm_head.weight")
        #expect(T.name(WeightRole(.lmHead), in: T.llavaHFCurrent) == "lm_head.weight")
        #expect(T.name(WeightRole(.lmHead), in: T.gguf) == "output.weight")
        let fc1 = WeightRole(.fc1, layer: 0, bias: true)
        #expect(T.name(fc1, in: T.llavaHF) == "vision_tower.vision_model.encoder.layers.0.mlp.fc1.bias")
        #expect(T.name(fc1, in: T.llavaHFSaved5) == "vision_tower.encoder.layers.0.mlp.fc1.bias")
        #expect(T.name(fc1, in: T.llavaHFCurrent) == "model.vision_tower.vision_model.encoder.layers.0.mlp.fc1.bias")
        #expect(T.name(fc1, in: T.llavaHFInMemory5) == "model.vision_tower.encoder.layers.0.mlp.fc1.bias")
        #expect(T.name(fc1, in: T.clipVision) == "vision_model.encoder.layers.0.mlp.fc1.bias")
        #expect(T.name(fc1, in: T.gguf) == "v.blk.0.ffn_down.bias")
        #expect(T.name(WeightRole(.classEmbedding), in: T.llavaHF) == "vision_tower.vision_model.embeddings.class_embedding")
        #expect(T.name(WeightRole(.classEmbedding), in: T.gguf) == "v.class_embd")
        #expect(T.name(WeightRole(.preLayerNorm), in: T.clipVisionBare) == "pre_layrnorm.weight")
        #expect(T.name(WeightRole(.preLayerNorm, bias: true), in: T.gguf) == "v.pre_ln.bias")
        #expect(T.name(WeightRole(.projector1), in: T.llavaHF) == "multi_modal_projector.linear_1.weight")
        #expect(T.name(WeightRole(.projector2, bias: true), in: T.llavaOriginal) == "model.mm_projector.2.bias")
        #expect(T.name(WeightRole(.projector1), in: T.gguf) == "mm.0.weight")
        #expect(T.name(WeightRole(.postAttentionNorm, layer: 1), in: T.gguf) == "blk.1.ffn_norm.weight")
        #expect(T.name(WeightRole(.visionOutput, layer: 2), in: T.gguf) == "v.blk.2.attn_out.weight")
        #expect(T.name(WeightRole(.imageNewline), in: T.llavaHFSaved5) == "image_newline")
        #expect(T.name(WeightRole(.imageNewline), in: T.llavaHFInMemory5) == "model.image_newline")
        #expect(T.name(WeightRole(.imageNewline), in: T.llavaOriginal) == "model.image_newline")
    }

    @Test func everyTensorHasARow() {
        for tensor in WeightRole.Tensor.allCases { #expect(T.rows[tensor] != nil, "\(tensor)") }
    }

    @Test func transforms() {
        #expect(T.transform(for: WeightRole(.query, layer: 0), in: T.gguf, headCount: 8, kvHeadCount: 2) == .unpermuteRows(heads: 8))
        #expect(T.transform(for: WeightRole(.key, layer: 0), in: T.gguf, headCount: 8, kvHeadCount: 2) == .unpermuteRows(heads: 2))
        #expect(T.transform(for: WeightRole(.key, layer: 0), in: T.llavaHF, headCount: 8, kvHeadCount: 2) == .none)
        #expect(T.transform(for: WeightRole(.fc2, layer: 0), in: T.gguf, headCount: 8, kvHeadCount: 2) == .swapFFNIfDownHasHiddenColumns)
        #expect(T.transform(for: WeightRole(.patchEmbedding), in: T.llavaHF, headCount: 8, kvHeadCount: 2) == .flattenConvolution)
    }
}
