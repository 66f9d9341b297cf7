/// The on-disk format of a checkpoint, detected from its bytes.
public enum CheckpointFormat: String, Sendable, Equatable {
    case safetensors
    case gguf
    /// `torch.save` zip archive (torch ≥ 1.6): `.bin`, `.pt`, `.pth`.
    case pytorch
    /// The pre-1.6 `torch.save` pickle sequence.
    case pytorchLegacy = "pytorch-legacy"
}
