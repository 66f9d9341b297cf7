import EAHCheckpoint
import EAHCore
@testable import EAHModel
import EAHTestSupport
import Foundation
import Testing

/// Decodes a whole matrix to floats.
func decoded(_ matrix: WeightMatrix) throws -> [Float] {
    var values = [Float](repeating: 0, count: matrix.rows * matrix.columns)
    for row in 0..<matrix.rows {
        try values.withUnsafeMutableBufferPointer { buffer in
            try matrix.dequantizeRow(row, into: UnsafeMutableBufferPointer(rebasing: buffer[(row * matrix.columns)..<((row + 1) * matrix.columns)]))
        }
    }
    return values
}

func maxError(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// m1's reference tensors, by in-memory (transformers 5.x) name.
func m1Reference(_ name: String) -> [Float] {
    LlavaFixtures.floats("m1-gqa-bias/hf-current/model.safetensors",
                         name.replacingOccurrences(of: "model.vision_tower.", with: "model.vision_tower.vision_model.")) ?? []
}

/// Compares every loaded weight of an m1 layout with the F32 reference (after the loader's
/// transforms: Q/K un-permuted, fc1/fc2 swapped back, patch conv flattened).
func checkM1(_ weights: LlavaWeights, tolerance: Float, visionTolerance: Float? = nil, vectorTolerance: Float = 0, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let vt = visionTolerance ?? tolerance
    let text = weights.text
    #expect(maxError(try decoded(text.embedTokens), m1Reference("model.language_model.embed_tokens.weight")) <= tolerance, sourceLocation: sourceLocation)
    #expect(maxError(try decoded(text.lmHead), m1Reference("lm_head.weight")) <= tolerance, sourceLocation: sourceLocation)
    #expect(maxError(text.norm.weight, m1Reference("model.language_model.norm.weight")) <= vectorTolerance, sourceLocation: sourceLocation)
    for (i, layer) in text.layers.enumerated() {
        let p = "model.language_model.layers.\(i)."
        for (linear, name) in [(layer.query, "self_attn.q_proj"), (layer.key, "self_attn.k_proj"), (layer.value, "self_attn.v_proj"),
                               (layer.output, "self_attn.o_proj"), (layer.gate, "mlp.gate_proj"), (layer.up, "mlp.up_proj"), (layer.down, "mlp.down_proj")] {
            #expect(maxError(try decoded(linear.weight), m1Reference(p + name + ".weight")) <= tolerance, "\(p)\(name)", sourceLocation: sourceLocation)
        }
        for (linear, name) in [(layer.query, "self_attn.q_proj"), (layer.key, "self_attn.k_proj"), (layer.value, "self_attn.v_proj"), (layer.output, "self_attn.o_proj")] {
            #expect(maxError(linear.bias ?? [], m1Reference(p + name + ".bias")) <= tolerance, "\(p)\(name).bias", sourceLocation: sourceLocation)
        }
        #expect(maxError(layer.inputNorm.weight, m1Reference(p + "input_layernorm.weight")) <= vectorTolerance, sourceLocation: sourceLocation)
    }
    let v = weights.vision
    #expect(v.layers.count == 2, sourceLocation: sourceLocation)  // feature layer -2 of 3: the last layer is not loaded
    #expect(maxError(v.classEmbedding ?? [], m1Reference("model.vision_tower.embeddings.class_embedding")) <= vt, sourceLocation: sourceLocation)
    #expect(maxError(try decoded(v.patchEmbedding), m1Reference("model.vision_tower.embeddings.patch_embedding.weight")) <= 1e-3, sourceLocation: sourceLocation)
    #expect(maxError(v.positionEmbedding, m1Reference("model.vision_tower.embeddings.position_embedding.weight")) <= vt, sourceLocation: sourceLocation)
    #expect(maxError(v.preLayerNorm?.bias ?? [], m1Reference("model.vision_tower.pre_layrnorm.bias")) <= vectorTolerance, sourceLocation: sourceLocation)
    for (i, layer) in v.layers.enumerated() {
        let p = "model.vision_tower.encoder.layers.\(i)."
        for (linear, name) in [(layer.query, "self_attn.q_proj"), (layer.output, "self_attn.out_proj"), (layer.fc1, "mlp.fc1"), (layer.fc2, "mlp.fc2")] {
            #expect(maxError(try decoded(linear.weight), m1Reference(p + name + ".weight")) <= vt, "\(p)\(name)", sourceLocation: sourceLocation)
            #expect(maxError(linear.bias ?? [], m1Reference(p + name + ".bias")) <= vectorTolerance, "\(p)\(name).bias", sourceLocation: sourceLocation)
        }
        #expect(maxError(layer.layerNorm2.weight, m1Reference(p + "layer_norm2.weight")) <= vectorTolerance, sourceLocation: sourceLocation)
    }
    #expect(maxError(try decoded(weights.projector.linear1.weight), m1Reference("model.multi_modal_projector.linear_1.weight")) <= vt, sourceLocation: sourceLocation)
    #expect(maxError(weights.projector.linear2.bias ?? [], m1Reference("model.multi_modal_projector.linear_2.bias")) <= vectorTolerance, sourceLocation: sourceLocation)
}

@Suite struct LlavaLoaderTests {
    let m1 = "m1-gqa-bias/"

    @Test func llavaHFLayoutsOfM1() throws {
        for folder in ["hf-save", "hf-current"] {
            let weights = try LlavaLoader.load(model: LlavaFixtures.path(m1 + folder))
            try checkM1(weights, tolerance: 0)
            #expect(weights.config.text.kvHeadCount == 2)
            #expect(weights.text.layers[0].query.weight.data.baseAddress != nil)
        }
        #expect(try LlavaLoader.load(model: LlavaFixtures.path(m1 + "hf-save")).layout == .llavaHF)
        #expect(try LlavaLoader.load(model: LlavaFixtures.path(m1 + "hf-current")).layout == .llavaHFCurrent)
    }

    @Test func halfPrecisionVariantsStayInTheirType() throws {
        let f16 = try LlavaLoader.load(model: LlavaFixtures.path(m1 + "hf-current-f16/model.safetensors"))
        #expect(f16.text.layers[0].query.weight.dtype == .f16)
        try checkM1(f16, tolerance: 2e-3, vectorTolerance: 2e-3)
        let bf16 = try LlavaLoader.load(model: LlavaFixtures.path(m1 + "hf-current-bf16"))
        #expect(bf16.text.embedTokens.dtype == .bf16)
        try checkM1(bf16, tolerance: 2e-2, vectorTolerance: 2e-2)
    }

    @Test func originalLayoutWithVisionTower() throws {
        for tower in ["clip-vision", "clip-vision-save524"] {
            let weights = try LlavaLoader.load(model: LlavaFixtures.path(m1 + "original"), visionTower: LlavaFixtures.path(m1 + tower))
            #expect(weights.layout == .llavaOriginal)
            #expect(weights.config.imageTokenIndex == -200)
            #expect(weights.config.visionFeatureLayers == [-2])
            try checkM1(weights, tolerance: 0)
        }
    }

    @Test func originalLayoutNeedsItsTower() {
        #expect {
            try LlavaLoader.load(model: LlavaFixtures.path(m1 + "original"))
        } throws: { error in
            guard let error = error as? CheckpointError, case .needsCompanion = error.problem as? ModelProblem else { return false }
            return error.isUsageError
        }
    }

    @Test func ggufTextWithMMProj() throws {
        for (text, mmproj, tolerance) in [("text-f32", "mmproj-f32", Float(0)), ("text-f16", "mmproj-f16", 2e-3), ("text-q8_0", "mmproj-f32", 2e-2)] {
            let weights = try LlavaLoader.load(model: LlavaFixtures.path(m1 + "gguf/\(text).gguf"), mmproj: LlavaFixtures.path(m1 + "gguf/\(mmproj).gguf"))
            #expect(weights.layout == .llamaCppText)
            #expect(weights.config.vision.layerCount == 3)
            try checkM1(weights, tolerance: tolerance, visionTolerance: mmproj == "mmproj-f16" ? 2e-3 : 0)
        }
        let q8 = try LlavaLoader.load(model: LlavaFixtures.path(m1 + "gguf/text-q8_0.gguf"), mmproj: LlavaFixtures.path(m1 + "gguf/mmproj-f32.gguf"))
        #expect(q8.text.layers[0].gate.weight.dtype == .q8_0)
        #expect(q8.text.layers[0].query.weight.dtype == .q8_0)  // un-permuted in its stored type
    }

    /// A text GGUF without its mmproj is a text-only model (it used to be refused as needing one):
    /// not a LLaVA model, but one the registry loads.
    @Test func ggufNeedsMMProj() throws {
        #expect {
            try LlavaLoader.load(model: LlavaFixtures.path(m1 + "gguf/text-f32.gguf"))
        } throws: { error in
            guard let error = error as? CheckpointError, case .unsupportedLayout(let text) = error.problem as? ModelProblem else { return false }
            return text == "is a text-only model, not a LLaVA one"
        }
        let textOnly = try ModelFamilies.load(ModelRequest(model: LlavaFixtures.path(m1 + "gguf/text-f32.gguf")))
        #expect(textOnly.family == "text-only")
        #expect {
            try LlavaLoader.load(model: LlavaFixtures.path(m1 + "gguf/mmproj-f32.gguf"))
        } throws: { error in
            guard let error = error as? CheckpointError, case .unsupportedLayout = error.problem as? ModelProblem else { return false }
            return true
        }
    }

    @Test func otherModels() throws {
        for folder in ["hf-legacy-safetensors", "hf-legacy-bin"] {
            let weights = try LlavaLoader.load(model: LlavaFixtures.path("m2-mha-gelu-full-tied/" + folder))
            #expect(weights.config.text.tieWordEmbeddings)
            #expect(weights.config.featureSelect == .full)
            #expect(weights.vision.layers.count == 2)
            #expect(weights.text.lmHead.data.baseAddress == weights.text.embedTokens.data.baseAddress)
            let ref = LlavaFixtures.floats("m2-mha-gelu-full-tied/hf-legacy-safetensors/model-00001-of-00002.safetensors", "language_model.model.embed_tokens.weight")
                ?? LlavaFixtures.floats("m2-mha-gelu-full-tied/hf-legacy-safetensors/model-00002-of-00002.safetensors", "language_model.model.embed_tokens.weight")
            #expect(maxError(try decoded(weights.text.embedTokens), ref ?? []) == 0)
        }
        let m3 = try LlavaLoader.load(model: LlavaFixtures.path("m3-featlist-headdim/hf-inmemory"))
        #expect(m3.config.visionFeatureLayers == [-2, -1])
        #expect(m3.projector.linear1.weight.columns == 64)
        #expect(m3.text.layers[0].query.weight.rows == 64)
        #expect(m3.text.layers[0].key.weight.rows == 16)
        let m4 = try LlavaLoader.load(model: LlavaFixtures.path("m4-defaults/hf-legacy"))
        #expect(m4.vision.layers.count == 1)
        #expect(m4.config.text.rmsNormEps == 1e-6)
    }

    /// Writes a copy of m1's hf-current with `edit` applied to its tensor list.
    func editedM1(_ edit: (inout [(String, [UInt8], [Int], String)]) -> Void) throws -> TemporaryDirectory {
        let reader = try Checkpoint.open(LlavaFixtures.path(m1 + "hf-current/model.safetensors"))
        var tensors: [(String, [UInt8], [Int], String)] = try reader.tensors.map { ($0.name, try reader.bytes(of: $0).array, $0.shape, $0.dtype.name) }
        edit(&tensors)
        var header = "{"
        var offset = 0
        for (index, (name, bytes, shape, dtype)) in tensors.enumerated() {
            header += (index > 0 ? "," : "") + "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + bytes.count)]}"
            offset += bytes.count
        }
        header += "}"
        var file = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { Array($0) } + Array(header.utf8)
        for tensor in tensors { file += tensor.1 }
        let folder = TemporaryDirectory()
        folder.write("model.safetensors", file)
        folder.write("config.json", Array(try String(contentsOfFile: LlavaFixtures.path(m1 + "hf-current/config.json"), encoding: .utf8).utf8))
        return folder
    }

    @Test func missingTensorsAreListed() throws {
        let folder = try editedM1 { tensors in
            tensors.removeAll { $0.0 == "model.language_model.layers.1.self_attn.k_proj.bias" || $0.0 == "model.multi_modal_projector.linear_2.weight" }
        }
        #expect {
            try LlavaLoader.load(model: folder.path)
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem == .missingTensors([
                "model.language_model.layers.1.self_attn.k_proj.bias", "model.multi_modal_projector.linear_2.weight"])
        }
    }

    @Test func unexpectedTensorsAreListed() throws {
        let folder = try editedM1 { tensors in
            tensors.append(("model.language_model.layers.2.mlp.up_proj.weight", [0, 0, 0, 0], [1, 1], "F32"))
            tensors.append(("model.vision_tower.vision_model.embeddings.position_ids", [0, 0, 0, 0, 0, 0, 0, 0], [1, 1], "I64"))
        }
        #expect {
            try LlavaLoader.load(model: folder.path)
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem == .unexpectedTensors(["model.language_model.layers.2.mlp.up_proj.weight"])
        }
    }

    @Test func wrongShapeIsReported() throws {
        let folder = try editedM1 { tensors in
            if let i = tensors.firstIndex(where: { $0.0 == "model.language_model.norm.weight" }) {
                tensors[i].1 = Array(tensors[i].1.prefix(16 * 4))
                tensors[i].2 = [16]
            }
        }
        #expect {
            try LlavaLoader.load(model: folder.path)
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem == .wrongShape(tensor: "model.language_model.norm.weight", expected: [32], actual: [16])
        }
    }

    @Test func unpermuteUndoesConvertersPermute() {
        // GGUF row h·hd + 2i + j holds HF row h·hd + j·hd/2 + i (hd = 4, 2 heads).
        #expect(LlavaLoader.rowOrder(rows: 8, heads: 2) == [0, 2, 1, 3, 4, 6, 5, 7])
    }
}
