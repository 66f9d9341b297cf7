/// The activation functions the supported architectures name in their configs.
public enum Activation: String, Sendable, Equatable {
    /// x · σ(1.702 x) (CLIP).
    case quickGELU = "quick_gelu"
    /// The exact, erf-based GELU (torch's default `gelu`).
    case gelu
    /// The tanh approximation (`gelu_pytorch_tanh`, `gelu_new`).
    case geluTanh = "gelu_pytorch_tanh"
    /// x · σ(x) (LLaMA's MLP).
    case silu
}
