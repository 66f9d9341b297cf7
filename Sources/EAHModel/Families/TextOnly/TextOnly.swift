import EAHCheckpoint
import EAHCore

/// Text-only decoders: a plain LLaMA / Mistral / Qwen2 / Gemma 3 causal LM (transformers
/// `config.json` with its safetensors) or a llama.cpp text GGUF given without `--mmproj`
/// (architecture `llama`; `qwen2`, whose q/k rows llama.cpp stores unpermuted: read through
/// Qwen2's GGUF names; or `gemma3`: `TextOnlyGemma3.swift`). The
/// LLaMA weights are read through LLaVA's naming table (`WeightNameTable.causalLM`, `.gguf`) and
/// run on the shared decoder; prompts take no image, so EAH (which needs one) never applies.
public enum TextOnly: ModelFamily {
    public static let name = "text-only"
    public static let modelTypes: Set<String> = ["llama", "mistral", "qwen2", "gemma3_text"]

    public static func claims(originalConfig: JSONValue) -> Bool { false }
    public static func claims(mmproj metadata: [MetadataEntry]) -> Bool { false }

    /// GGUF architectures read here (their `<arch>.*` keys and the table's GGUF names).
    static let ggufArchitectures: Set<String> = ["llama", "qwen2", "gemma3"]

    public static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> any VisionLanguageModel {
        if request.visionTower != nil || request.mmproj != nil {
            throw CheckpointError(path: request.model, problem: ModelProblem.unsupportedLayout("this is a text-only model: it takes no --vision-tower or --mmproj"))
        }
        if let gemma = try loadGemma3(request, reader: reader, layout: layout, pool: pool) { return gemma }
        let folder = LlavaLoader.folder(of: request.model)
        var config: LlamaConfig
        let scheme: WeightNameTable.Scheme
        let companions: ModelCompanions
        switch layout {
        case .llamaCppText:
            let architecture = reader.metadata.first { $0.key == "general.architecture" }?.value.string ?? "missing"
            guard ggufArchitectures.contains(architecture) else {
                throw CheckpointError(path: request.model, problem: ModelProblem.unsupportedLayout(
                    "general.architecture is '\(TerminalText.escape(architecture))'; text-only GGUF runs support \(ggufArchitectures.sorted().joined(separator: ", ")) (a vision model's GGUF needs --mmproj)"))
            }
            do throws(ModelProblem) {
                config = try LlavaConfigReader.ggufText(reader.metadata, hasOutput: reader.tensor(named: "output.weight") != nil,
                                                        vocabRows: reader.tensor(named: "token_embd.weight")?.shape.first, architecture: architecture)
            } catch {
                throw CheckpointError(path: request.model, problem: error)
            }
            scheme = WeightNameTable.gguf
            companions = ModelCompanions(family: name, architecture: "\(architecture) (gguf)", tokenizer: .ggufMetadata(request.model),
                                         preprocessor: .folder(folder), imageMode: "", imageIsToken: false, isGGUF: true, bundled: [])
            // convert_hf_to_gguf writes a MistralForCausalLM as `llama` without its window (llama.cpp
            // then attends over the whole context); a file that records one gets it.
            do throws(ModelProblem) {
                let key = "\(architecture).attention.sliding_window"
                // 0 turns the window off, as llama.cpp reads it.
                let window = try LlavaConfigReader.metaInteger(reader.metadata, key, default: 0, range: 0...Int(Int32.max))
                config.slidingWindow = window == 0 ? nil : window
            } catch {
                throw CheckpointError(path: request.model, problem: error)
            }
            if architecture == "qwen2" {
                // Qwen2: q, k, v biases and none on the output, as transformers' Qwen2 has them.
                config.queryKeyValueBias = true
                config.outputBias = false
                let source = TrackingSource(source: TensorSource(reader))
                let weights = try Qwen2VLLoader.textWeights(source, config.spec, .gguf)
                let unexpected = reader.tensors.map(\.name).filter { name in !source.used.contains(name) && !WeightNameTable.ignorable.contains { $0.matches(name) } }
                if !unexpected.isEmpty { throw CheckpointError(path: request.model, problem: ModelProblem.unexpectedTensors(unexpected)) }
                return TextOnlyModel(config: config, weights: weights, layout: layout, scheme: scheme, reader: reader, companions: companions, pool: pool)
            }
            // GGUF has no key for these: biases are there or not.
            config.attentionBias = reader.tensor(named: "blk.0.attn_q.bias") != nil
            config.mlpBias = reader.tensor(named: "blk.0.ffn_gate.bias") != nil
        case .llama:
            let path = LlavaLoader.configPath(beside: request.model)
            let json = try LlavaLoader.parseJSON(path)
            config = try LlavaLoader.parse(path, json) { json throws(ModelProblem) in
                try LlavaConfigReader.textDecoder(json, prefix: "", defaultType: "llama")
            }
            scheme = WeightNameTable.causalLM
            companions = ModelCompanions(family: name, architecture: LlavaLoader.architecture(json, fallback: layout.rawValue), tokenizer: .folder(folder),
                                         preprocessor: .folder(folder), imageMode: "", imageIsToken: false, isGGUF: false, bundled: [])
        default:
            throw CheckpointError(path: request.model, problem: ModelProblem.unsupportedLayout(
                "the tensor names are not a text model's (transformers model.layers.N.* or llama.cpp blk.N.*)"))
        }
        let part = try LlavaLoader.Part(reader: reader, scheme: scheme, config: LlavaConfig(text: config, vision: placeholderVision), roles: [.text, .lmHead])
        let weights = try LlavaLoader.assembleText(config, text: part)
        return TextOnlyModel(config: config, weights: weights, layout: layout, scheme: scheme, reader: reader, companions: companions, pool: pool)
    }

    /// `LlavaLoader.Part` checks a tower only when asked for one; text-only parts never are.
    private static let placeholderVision = CLIPVisionConfig(hiddenSize: 1, intermediateSize: 1, layerCount: 1, headCount: 1, imageSize: 1, patchSize: 1)
}
