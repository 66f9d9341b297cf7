/// A canonical weight of the LLaVA architecture, independent of any checkpoint's naming: which
/// tensor, in which layer, weight or bias.
public struct WeightRole: Hashable, Sendable, CustomStringConvertible {
    /// The tensors of the three parts (text decoder, vision tower, projector).
    public enum Tensor: String, CaseIterable, Sendable {
        // LLaMA decoder.
        case tokenEmbedding, textNorm, lmHead
        case inputNorm, query, key, value, output, postAttentionNorm, gate, up, down
        // CLIP vision tower.
        case classEmbedding, patchEmbedding, positionEmbedding, preLayerNorm, postLayerNorm
        case layerNorm1, visionQuery, visionKey, visionValue, visionOutput, layerNorm2, fc1, fc2
        // Projector.
        case projector1, projector2
        // LLaVA-NeXT's learned row separator (no `.weight` suffix).
        case imageNewline

        /// Whether the tensor exists once per layer.
        public var isPerLayer: Bool {
            switch self {
            case .inputNorm, .query, .key, .value, .output, .postAttentionNorm, .gate, .up, .down,
                 .layerNorm1, .visionQuery, .visionKey, .visionValue, .visionOutput, .layerNorm2, .fc1, .fc2: true
            default: false
            }
        }

        /// Which part of the model the tensor belongs to.
        public var part: Part {
            switch self {
            case .tokenEmbedding, .textNorm, .inputNorm, .query, .key, .value, .output, .postAttentionNorm, .gate, .up, .down: .text
            case .lmHead: .lmHead
            case .projector1, .projector2, .imageNewline: .projector
            default: .vision
            }
        }
    }

    /// The naming prefix group a tensor lives under.
    public enum Part: Sendable { case text, lmHead, vision, projector }

    public var tensor: Tensor
    /// The layer index for per-layer tensors, nil otherwise.
    public var layer: Int?
    /// The bias rather than the weight (never set for the class embedding, which has neither suffix).
    public var isBias: Bool

    public init(_ tensor: Tensor, layer: Int? = nil, bias: Bool = false) {
        self.tensor = tensor
        self.layer = layer
        isBias = bias
    }

    public var description: String {
        "\(tensor.rawValue)\(layer.map { "[\($0)]" } ?? "")\(isBias ? ".bias" : "")"
    }
}
