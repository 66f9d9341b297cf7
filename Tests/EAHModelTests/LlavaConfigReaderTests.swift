import EAHCheckpoint
@testable import EAHModel
import EAHTestSupport
import Foundation
import Testing

func json(_ text: String) throws -> JSONValue { try JSONParser.parse(text) }

func fixtureJSON(_ relative: String) throws -> JSONValue {
    try JSONParser.parse(Array(try String(contentsOfFile: LlavaFixtures.path(relative), encoding: .utf8).utf8))
}

@Suite struct LlavaConfigReaderTests {
    @Test func transformersDefaults() throws {
        let config = try LlavaConfigReader.llavaHF(try json("{}"))
        #expect(config.text == LlamaConfig(hiddenSize: 4096, intermediateSize: 11008, layerCount: 32, headCount: 32, kvHeadCount: 32, headDim: 128,
                                           vocabSize: 32000, rmsNormEps: 1e-6, maxPositionEmbeddings: 2048, rope: RopeParameters(theta: 10000)))
        // LlavaConfig's own vision defaults when vision_config is absent.
        #expect(config.vision == CLIPVisionConfig(hiddenSize: 1024, intermediateSize: 4096, layerCount: 24, headCount: 16, imageSize: 336, patchSize: 14))
        #expect(config.visionFeatureLayers == [-2] && config.featureSelect == .default && config.imageTokenIndex == 32000 && config.projectorActivation == .gelu)
        // CLIPVisionConfig's defaults when vision_config is given.
        let given = try LlavaConfigReader.llavaHF(try json(#"{"vision_config": {"model_type": "clip_vision_model"}}"#))
        #expect(given.vision == CLIPVisionConfig(hiddenSize: 768, intermediateSize: 3072, layerCount: 12, headCount: 12, imageSize: 224, patchSize: 32))
    }

    @Test func fixtureConfigs() throws {
        let m1 = try LlavaConfigReader.llavaHF(try fixtureJSON("m1-gqa-bias/hf-current/config.json"))
        #expect(m1.text.kvHeadCount == 2 && m1.text.attentionBias && m1.text.rmsNormEps == 1e-5 && m1.vision.layerCount == 3)
        let m2 = try LlavaConfigReader.llavaHF(try fixtureJSON("m2-mha-gelu-full-tied/hf-legacy-bin/config.json"))
        #expect(m2.text.tieWordEmbeddings && m2.text.headDim == 12 && m2.vision.hiddenAct == .gelu && m2.featureSelect == .full && m2.visionFeatureLayers == [-1])
        #expect(m2.text.rope == RopeParameters(theta: 500000, type: .llama3, factor: 8, extra: ["low_freq_factor": 1, "high_freq_factor": 4], originalMaxPositionEmbeddings: 64))
        let m3 = try LlavaConfigReader.llavaHF(try fixtureJSON("m3-featlist-headdim/hf-inmemory/config.json"))
        #expect(m3.text.rope == RopeParameters(theta: 1e6, type: .linear, factor: 2) && m3.text.headDim == 16 && m3.visionFeatureLayers == [-2, -1])
        let m4 = try LlavaConfigReader.llavaHF(try fixtureJSON("m4-defaults/hf-legacy/config.json"))
        #expect(m4.text.rmsNormEps == 1e-6 && m4.text.kvHeadCount == 4 && m4.text.rope == RopeParameters(theta: 10000) && m4.text.maxPositionEmbeddings == 2048)
        #expect(m4.vision.hiddenAct == .quickGELU && m4.vision.layerNormEps == 1e-5 && m4.imageTokenIndex == 300)
        let original = try LlavaConfigReader.original(try fixtureJSON("m1-gqa-bias/original/config.json"), visionTower: try fixtureJSON("m1-gqa-bias/clip-vision/config.json"))
        #expect(original.text == m1.text && original.vision == m1.vision && original.imageTokenIndex == -200)
    }

    @Test func ropeForms() throws {
        let top = try LlavaConfigReader.ropeParameters(try json(#"{"rope_theta": 500000}"#), maxPositionEmbeddings: 4096)
        #expect(top == RopeParameters(theta: 500000))
        let scaling = try LlavaConfigReader.ropeParameters(try json(#"{"rope_theta": 10000, "rope_scaling": {"type": "dynamic", "factor": 2}}"#), maxPositionEmbeddings: 4096)
        #expect(scaling == RopeParameters(theta: 10000, type: .dynamic, factor: 2))
        let yarn = try LlavaConfigReader.ropeParameters(try json(#"{"rope_parameters": {"rope_type": "yarn", "rope_theta": 10000, "factor": 4, "beta_fast": 32}}"#), maxPositionEmbeddings: 8192)
        #expect(yarn == RopeParameters(theta: 10000, type: .yarn, factor: 4, extra: ["beta_fast": 32], originalMaxPositionEmbeddings: 8192))
    }

    @Test func badFieldsAreNamed() throws {
        func problem(_ text: String) -> ModelProblem? {
            do { _ = try LlavaConfigReader.llavaHF(try json(text)); return nil } catch let error as ModelProblem { return error } catch { return nil }
        }
        #expect(problem(#"{"text_config": {"hidden_size": "big"}}"#) == .badConfig(field: "text_config.hidden_size", reason: "is not an integer"))
        if case .badConfig(let field, _)? = problem(#"{"text_config": {"num_key_value_heads": 5}}"#) { #expect(field == "text_config.num_key_value_heads") } else { Issue.record("no error") }
        if case .badConfig(let field, _)? = problem(#"{"text_config": {"hidden_size": -4}}"#) { #expect(field == "text_config.hidden_size") } else { Issue.record("no error") }
        if case .badConfig(let field, _)? = problem(#"{"vision_feature_layer": -40}"#) { #expect(field == "vision_feature_layer") } else { Issue.record("no error") }
        if case .badConfig(let field, _)? = problem(#"{"vision_feature_select_strategy": "cls"}"#) { #expect(field == "vision_feature_select_strategy") } else { Issue.record("no error") }
        if case .badConfig(let field, _)? = problem(#"{"text_config": {"rope_scaling": {"type": "longrope", "factor": 2}}}"#) { #expect(field == "text_config.rope_scaling.rope_type") } else { Issue.record("no error") }
        if case .badConfig(let field, _)? = problem(#"{"text_config": {"rope_parameters": {"rope_type": "linear"}}}"#) { #expect(field == "text_config.rope_parameters.factor") } else { Issue.record("no error") }
    }
}
