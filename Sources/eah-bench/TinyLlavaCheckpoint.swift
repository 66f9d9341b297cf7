import EAHCheckpoint
import EAHCore

/// A llava-hf folder with TinyLlama's decoder and CLIP ViT-L/14-336's tower, random F16 weights:
/// `config.json` and `model.safetensors` (about 2.8 GB).
enum TinyLlavaCheckpoint {
    static let visionHidden = 1024, visionLayers = 24, visionIntermediate = 4096, imageSize = 336, patch = 14

    static var plans: [TensorPlan] {
        var plans = TinyLlamaCheckpoint.plans.map { plan in
            TensorPlan(name: plan.name == "lm_head.weight" ? "language_model.lm_head.weight" : "language_model." + plan.name,
                       dtype: plan.dtype, shape: plan.shape)
        }
        let v = "vision_tower.vision_model."
        let positions = (imageSize / patch) * (imageSize / patch) + 1
        plans += [
            TensorPlan(name: v + "embeddings.class_embedding", dtype: .f16, shape: [visionHidden]),
            TensorPlan(name: v + "embeddings.patch_embedding.weight", dtype: .f16, shape: [visionHidden, 3, patch, patch]),
            TensorPlan(name: v + "embeddings.position_embedding.weight", dtype: .f16, shape: [positions, visionHidden]),
            TensorPlan(name: v + "pre_layrnorm.weight", dtype: .f16, shape: [visionHidden]),
            TensorPlan(name: v + "pre_layrnorm.bias", dtype: .f16, shape: [visionHidden]),
            TensorPlan(name: v + "post_layernorm.weight", dtype: .f16, shape: [visionHidden]),
            TensorPlan(name: v + "post_layernorm.bias", dtype: .f16, shape: [visionHidden]),
        ]
        for layer in 0..<visionLayers {
            let p = v + "encoder.layers.\(layer)."
            for projection in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                plans += [TensorPlan(name: p + "self_attn.\(projection).weight", dtype: .f16, shape: [visionHidden, visionHidden]),
                          TensorPlan(name: p + "self_attn.\(projection).bias", dtype: .f16, shape: [visionHidden])]
            }
            for norm in ["layer_norm1", "layer_norm2"] {
                plans += [TensorPlan(name: p + norm + ".weight", dtype: .f16, shape: [visionHidden]),
                          TensorPlan(name: p + norm + ".bias", dtype: .f16, shape: [visionHidden])]
            }
            plans += [
                TensorPlan(name: p + "mlp.fc1.weight", dtype: .f16, shape: [visionIntermediate, visionHidden]),
                TensorPlan(name: p + "mlp.fc1.bias", dtype: .f16, shape: [visionIntermediate]),
                TensorPlan(name: p + "mlp.fc2.weight", dtype: .f16, shape: [visionHidden, visionIntermediate]),
                TensorPlan(name: p + "mlp.fc2.bias", dtype: .f16, shape: [visionHidden]),
            ]
        }
        let hidden = TinyLlamaCheckpoint.hidden
        plans += [
            TensorPlan(name: "multi_modal_projector.linear_1.weight", dtype: .f16, shape: [hidden, visionHidden]),
            TensorPlan(name: "multi_modal_projector.linear_1.bias", dtype: .f16, shape: [hidden]),
            TensorPlan(name: "multi_modal_projector.linear_2.weight", dtype: .f16, shape: [hidden, hidden]),
            TensorPlan(name: "multi_modal_projector.linear_2.bias", dtype: .f16, shape: [hidden]),
        ]
        return plans
    }

    static var configJSON: JSONValue {
        .object([
            ("architectures", .array([.string("LlavaForConditionalGeneration")])),
            ("model_type", .string("llava")),
            ("image_token_index", .integer(32000)),
            ("vision_feature_layer", .integer(-2)),
            ("vision_feature_select_strategy", .string("default")),
            ("text_config", .object([
                ("model_type", .string("llama")), ("hidden_size", .integer(TinyLlamaCheckpoint.hidden)),
                ("intermediate_size", .integer(TinyLlamaCheckpoint.intermediate)), ("num_hidden_layers", .integer(TinyLlamaCheckpoint.layers)),
                ("num_attention_heads", .integer(32)), ("num_key_value_heads", .integer(4)), ("vocab_size", .integer(TinyLlamaCheckpoint.vocab)),
                ("rms_norm_eps", .number(1e-5)),
            ])),
            ("vision_config", .object([
                ("model_type", .string("clip_vision_model")), ("hidden_size", .integer(visionHidden)),
                ("intermediate_size", .integer(visionIntermediate)), ("num_hidden_layers", .integer(visionLayers)),
                ("num_attention_heads", .integer(16)), ("image_size", .integer(imageSize)), ("patch_size", .integer(patch)),
            ])),
        ])
    }

    static func write(to folder: String) throws(CheckpointError) {
        mkdir(folder, 0o755)
        try TinyLlamaCheckpoint.writeRandom(plans: plans, to: folder + "/model.safetensors")
        let config = try AtomicOutputFile(path: folder + "/config.json", overwrite: true)
        try config.write(Array(configJSON.serialized.utf8))
        try config.commit()
    }
}

