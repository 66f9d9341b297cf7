import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Testing

/// Gemma 3's config reader: the hub's older flat RoPE fields read as transformers 5's per-layer-type
/// `rope_parameters`, and bad fields are refused by name.
@Suite("Gemma 3 config")
struct Gemma3ConfigTests {
    static func read(_ text: String) throws(ModelProblem) -> Gemma3Config {
        try Gemma3ConfigReader.read(try! JSONParser.parse(Array(text.utf8)))
    }

    static func fixture() throws -> Gemma3Config {
        let file = try MappedFile(path: Fixtures.path("gemma3/hf-save/config.json"))
        return try Gemma3ConfigReader.read(try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) })
    }

    static let vision = #""vision_config": {"model_type": "siglip_vision_model", "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 2, "image_size": 32, "patch_size": 4, "layer_norm_eps": 1e-6, "hidden_act": "gelu_pytorch_tanh"}"#

    static func config(text: String, top: String = #""mm_tokens_per_image": 16"#) -> String {
        #"{"model_type": "gemma3", "boi_token_index": 317, "eoi_token_index": 318, "image_token_index": 319, "eos_token_id": 313, "#
            + top + ", " + vision + #", "text_config": {"vocab_size": 320, "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 3, "#
            + #""num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 24, "sliding_window": 6, "query_pre_attn_scalar": 20"# + text + "}}"
    }

    @Test("the fixture's config: masks per layer type, local and scaled global RoPE, Gemma's norms and scale")
    func fixtureConfig() throws {
        let config = try Self.fixture()
        #expect(config.text.masks == [.slidingWindow(6), .slidingWindow(6), .causal])
        #expect(config.text.rope.parameters == RopeParameters(theta: 1_000_000, type: .linear, factor: 8))
        #expect(config.text.rope.slidingParameters == RopeParameters(theta: 10_000))
        #expect(config.text.norm == DecoderSpec.Norm(eps: 1e-6, weightOffset: 1, sandwich: true))
        #expect(config.text.attention.scale == Float(1 / 20.0.squareRoot()) && config.text.attention.queryKeyNorm)
        #expect(config.text.embeddingMultiplier == 8 && config.text.bidirectionalImages)
        #expect(config.tokensPerImage == 16 && config.poolKernel == 2)
    }

    @Test("the hub's flat form (rope_theta, rope_local_base_freq, rope_scaling, sliding_window_pattern) reads as the nested one")
    func hubForm() throws {
        let hub = try Self.read(Self.config(text: #", "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": {"rope_type": "linear", "factor": 8.0}, "sliding_window_pattern": 3, "rms_norm_eps": 1e-6, "max_position_embeddings": 512"#))
        #expect(hub == (try Self.fixture()))
    }

    @Test("bad fields are refused by name")
    func badConfigs() throws {
        #expect(throws: ModelProblem.badConfig(field: "text_config.layer_types", reason: "must list one type per layer (3)")) {
            try Self.read(Self.config(text: #", "layer_types": ["full_attention"]"#))
        }
        #expect(throws: ModelProblem.badConfig(field: "text_config.layer_types", reason: "holds a type other than sliding_attention and full_attention")) {
            try Self.read(Self.config(text: #", "layer_types": ["full_attention", "chunked_attention", "full_attention"]"#))
        }
        #expect(throws: ModelProblem.badConfig(field: "mm_tokens_per_image", reason: "(12) must be a square whose side divides the 8 patches per image side")) {
            try Self.read(Self.config(text: "", top: #""mm_tokens_per_image": 12"#))
        }
        #expect(throws: ModelProblem.badConfig(field: "text_config.use_bidirectional_attention", reason: "is true (an embedding model); only the generative Gemma 3 is supported")) {
            try Self.read(Self.config(text: #", "use_bidirectional_attention": true"#))
        }
        #expect(throws: ModelProblem.badConfig(field: "text_config.attn_logit_softcapping", reason: "(-1.0) must be positive or null")) {
            try Self.read(Self.config(text: #", "attn_logit_softcapping": -1"#))
        }
    }
}
