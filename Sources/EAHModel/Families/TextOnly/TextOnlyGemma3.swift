import EAHCheckpoint
import EAHCore

/// Gemma 3's text decoder on its own: a transformers `Gemma3ForCausalLM` folder (`model_type`
/// `gemma3_text`: `model.*`, `lm_head` when untied) or a llama.cpp `gemma3` text GGUF given
/// without `--mmproj`. The decoder is Gemma 3's (`Gemma3ConfigReader.textSpec`,
/// `Gemma3LlamaCppNames.textSpec`; weights through `Gemma3Loader.textWeights`), run as any
/// text-only model.
extension TextOnly {
    /// transformers' Gemma3ForCausalLM names: a text model under `model.`.
    static let gemma3CausalLM = Gemma3Layout(name: WeightLayout.llama.rawValue, text: "model.", heads: ["lm_head.weight"], visions: [""], projector: "")

    /// The Gemma 3 text model of `reader`, or nil when it is not one (`model_type` gemma3_text,
    /// GGUF architecture gemma3).
    static func loadGemma3(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> TextOnlyModel? {
        let spec: DecoderSpec, names: Gemma3Layout, scheme: WeightNameTable.Scheme, companions: ModelCompanions, eos: [Int]
        let folder = LlavaLoader.folder(of: request.model)
        switch layout {
        case .llamaCppText:
            guard reader.metadataValue("general.architecture")?.string == "gemma3" else { return nil }
            guard let embedding = reader.tensor(named: "token_embd.weight"), embedding.shape.count == 2 else {
                throw CheckpointError(path: request.model, problem: ModelProblem.missingTensors(["token_embd.weight"]))
            }
            do throws(ModelProblem) {
                spec = try Gemma3LlamaCppNames.textSpec(reader.metadata, vocab: embedding.shape[0], tied: reader.tensor(named: "output.weight") == nil)
                eos = [try LlavaConfigReader.metaInteger(reader.metadata, "tokenizer.ggml.eos_token_id", default: 1, range: 0...(embedding.shape[0] - 1))]
            } catch {
                throw CheckpointError(path: request.model, problem: error)
            }
            names = .llamaCppPair
            scheme = WeightNameTable.gguf
            companions = ModelCompanions(family: name, architecture: "gemma3 (gguf)", tokenizer: .ggufMetadata(request.model),
                                         preprocessor: .folder(folder), imageMode: "", imageIsToken: false, isGGUF: true, bundled: [])
        case .llama:
            let path = LlavaLoader.configPath(beside: request.model)
            let json = try LlavaLoader.parseJSON(path)
            guard json["model_type"] == .string("gemma3_text") else { return nil }
            (spec, eos) = try LlavaLoader.parse(path, json) { json throws(ModelProblem) in
                // Gemma3ForCausalLM applies final_logit_softcapping, which the decoder does not.
                if try Gemma3ConfigReader.softcap(json, "final_logit_softcapping", "") != nil {
                    throw .badConfig(field: "final_logit_softcapping", reason: "is set; final-logit soft-capping is not supported (released Gemma 3 configs leave it null)")
                }
                var spec = try Gemma3ConfigReader.textSpec(json, prefix: "", topTied: nil)
                spec.bidirectionalImages = false
                return (spec, json["eos_token_id"] == nil ? [1] : try LlavaConfigReader.eosTokenIDs(json, ""))
            }
            names = gemma3CausalLM
            scheme = WeightNameTable.causalLM
            companions = ModelCompanions(family: name, architecture: LlavaLoader.architecture(json, fallback: "gemma3_text"), tokenizer: .folder(folder),
                                         preprocessor: .folder(folder), imageMode: "", imageIsToken: false, isGGUF: false, bundled: [])
        default:
            return nil
        }
        let source = TrackingSource(source: TensorSource(reader))
        let weights = try Gemma3Loader.textWeights(source, spec, names)
        let unexpected = reader.tensors.map(\.name).filter { !source.used.contains($0) }
        if !unexpected.isEmpty { throw CheckpointError(path: request.model, problem: ModelProblem.unexpectedTensors(unexpected)) }
        let a = spec.attention
        let config = LlamaConfig(hiddenSize: spec.hiddenSize, intermediateSize: spec.intermediateSize, layerCount: spec.layerCount, headCount: a.headCount,
                                 kvHeadCount: a.kvHeadCount, headDim: a.headDim, vocabSize: spec.vocabSize, rmsNormEps: spec.norm.eps,
                                 maxPositionEmbeddings: spec.rope.maxPositionEmbeddings, rope: spec.rope.parameters, tieWordEmbeddings: spec.tiedHead, eosTokenIDs: eos)
        let model = TextOnlyModel(config: config, spec: spec, weights: weights, layout: layout, scheme: scheme, reader: reader, companions: companions, pool: pool)
        model.singleBOS = true
        return model
    }
}
