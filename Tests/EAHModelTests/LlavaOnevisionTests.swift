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
    }
}
