import EAHCheckpoint
import EAHCore

/// The weights of one ViT encoder layer (CLIP and SigLIP name and use them alike).
public struct CLIPLayerWeights: Sendable {
    public var layerNorm1: NormWeights
    public var query: LinearWeights
    public var key: LinearWeights
    public var value: LinearWeights
    public var output: LinearWeights
    public var layerNorm2: NormWeights
    public var fc1: LinearWeights
    public var fc2: LinearWeights

    public init(layerNorm1: NormWeights, query: LinearWeights, key: LinearWeights, value: LinearWeights, output: LinearWeights,
                layerNorm2: NormWeights, fc1: LinearWeights, fc2: LinearWeights) {
        self.layerNorm1 = layerNorm1
        self.query = query
        self.key = key
        self.value = value
        self.output = output
        self.layerNorm2 = layerNorm2
        self.fc1 = fc1
        self.fc2 = fc2
    }
}

/// A ViT vision tower's weights (CLIP or SigLIP, `VisionSpec`). Only the layers the feature
/// layers need are loaded.
public struct CLIPVisionWeights: Sendable {
    /// [hidden]; CLIP's class token (nil for towers without one).
    public var classEmbedding: [Float]?
    /// The patch convolution as a matrix: hidden × (channels·patch·patch).
    public var patchEmbedding: WeightMatrix
    /// The convolution's bias [hidden] (SigLIP; nil for CLIP).
    public var patchBias: [Float]?
    /// [positions × hidden], row-major.
    public var positionEmbedding: [Float]
    /// CLIP's `pre_layrnorm` (nil for towers without a pre-norm).
    public var preLayerNorm: NormWeights?
    public var layers: [CLIPLayerWeights]
    /// `post_layernorm`, loaded when every layer is (the feature of towers read after the post-norm).
    public var postLayerNorm: NormWeights?

    public init(classEmbedding: [Float]?, patchEmbedding: WeightMatrix, patchBias: [Float]? = nil, positionEmbedding: [Float],
                preLayerNorm: NormWeights?, layers: [CLIPLayerWeights], postLayerNorm: NormWeights? = nil) {
        self.classEmbedding = classEmbedding
        self.patchEmbedding = patchEmbedding
        self.patchBias = patchBias
        self.positionEmbedding = positionEmbedding
        self.preLayerNorm = preLayerNorm
        self.layers = layers
        self.postLayerNorm = postLayerNorm
    }
}

/// The two-layer GELU projector from vision features to the text hidden size.
public struct ProjectorWeights: Sendable {
    public var linear1: LinearWeights
    public var linear2: LinearWeights
    /// LLaVA-NeXT's `image_newline` [text hidden], ending each row of tile features.
    public var imageNewline: [Float]?

    public init(linear1: LinearWeights, linear2: LinearWeights) {
        self.linear1 = linear1
        self.linear2 = linear2
    }
}

/// The weights of one LLaMA decoder layer; q and k rows in Hugging Face's rotate-half order.
public struct LlamaLayerWeights: Sendable {
    public var inputNorm: NormWeights
    public var query: LinearWeights
    public var key: LinearWeights
    public var value: LinearWeights
    public var output: LinearWeights
    /// The norm before the MLP (LLaMA's `post_attention_layernorm`, Gemma's `pre_feedforward_layernorm`).
    public var postAttentionNorm: NormWeights
    public var gate: LinearWeights
    public var up: LinearWeights
    public var down: LinearWeights
    /// Per-head RMSNorm weights [headDim] of queries and keys (`DecoderSpec.Attention.queryKeyNorm`).
    public var queryNorm: NormWeights?
    public var keyNorm: NormWeights?
    /// Sandwich norms (`DecoderSpec.Norm.sandwich`) of the attention and MLP outputs.
    public var attentionOutputNorm: NormWeights?
    public var mlpOutputNorm: NormWeights?

    public init(inputNorm: NormWeights, query: LinearWeights, key: LinearWeights, value: LinearWeights, output: LinearWeights,
                postAttentionNorm: NormWeights, gate: LinearWeights, up: LinearWeights, down: LinearWeights,
                queryNorm: NormWeights? = nil, keyNorm: NormWeights? = nil, attentionOutputNorm: NormWeights? = nil,
                mlpOutputNorm: NormWeights? = nil) {
        self.queryNorm = queryNorm
        self.keyNorm = keyNorm
        self.attentionOutputNorm = attentionOutputNorm
        self.mlpOutputNorm = mlpOutputNorm
        self.inputNorm = inputNorm
        self.query = query
        self.key = key
        self.value = value
        self.output = output
        self.postAttentionNorm = postAttentionNorm
        self.gate = gate
        self.up = up
        self.down = down
    }
}

/// The LLaMA decoder's weights.
public struct LlamaWeights: Sendable {
    /// vocab × hidden; rows are looked up (and decoded) per token.
    public var embedTokens: WeightMatrix
    public var layers: [LlamaLayerWeights]
    public var norm: NormWeights
    /// vocab × hidden; the same matrix as `embedTokens` when embeddings are tied.
    public var lmHead: WeightMatrix

    public init(embedTokens: WeightMatrix, layers: [LlamaLayerWeights], norm: NormWeights, lmHead: WeightMatrix) {
        self.embedTokens = embedTokens
        self.layers = layers
        self.norm = norm
        self.lmHead = lmHead
    }
}

/// A loaded LLaVA model: configuration and weights, plus the open checkpoints whose memory
/// maps the weight matrices point into.
public struct LlavaWeights: @unchecked Sendable {
    public var config: LlavaConfig
    public var vision: CLIPVisionWeights
    public var projector: ProjectorWeights
    public var text: LlamaWeights
    /// Which layout the checkpoint was in.
    public var layout: WeightLayout
    /// Keeps the mapped files alive; the first holds the text decoder.
    public var sources: [any CheckpointReader]
    /// How the text decoder's tensors are named in `sources[0]` (to find, e.g., a layer's q_proj).
    public var textScheme: WeightNameTable.Scheme
    /// Where the tokenizer, preprocessor and bundle companions come from.
    public var companions: ModelCompanions

    public init(config: LlavaConfig, vision: CLIPVisionWeights, projector: ProjectorWeights, text: LlamaWeights, layout: WeightLayout,
                sources: [any CheckpointReader], textScheme: WeightNameTable.Scheme, companions: ModelCompanions) {
        self.config = config
        self.vision = vision
        self.projector = projector
        self.text = text
        self.layout = layout
        self.sources = sources
        self.textScheme = textScheme
        self.companions = companions
    }

    /// The text checkpoint's tensor names `--bake` rewrites in `layer`, with whether their row
    /// blocks are KV heads (else query heads). Names the checkpoint lacks (absent biases) are left out.
    public func bakeTargets(layer: Int) -> [(name: String, perKVHead: Bool)] {
        WeightNameTable.bakeTargets(layer: layer).compactMap { target in
            let name = WeightNameTable.name(target.role, in: textScheme)
            return sources[0].tensor(named: name) == nil ? nil : (name, target.perKVHead)
        }
    }
}
