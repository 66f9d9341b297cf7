/// What `Converter` writes: the output format, the element type policy and overwrite permission.
public struct ConversionOptions: Sendable, Equatable {
    /// Output file formats.
    public enum OutputFormat: String, Sendable, CaseIterable {
        case safetensors
        case gguf
    }

    /// Element type policy for floating-point tensors (integer and bool tensors always keep theirs).
    public enum TargetDType: String, Sendable, CaseIterable {
        /// Keep each tensor's type; types the output cannot store become F32.
        case keep
        case f32
        case f16
        case bf16
        /// GGUF only: Q8_0 for matrices whose rows are whole blocks, see `Converter.plan`.
        case q8_0
        /// GGUF only: Q4_0, as for q8_0.
        case q4_0
    }

    public var format: OutputFormat
    public var dtype: TargetDType
    /// Replace an existing output file.
    public var overwrite: Bool

    public init(format: OutputFormat, dtype: TargetDType = .keep, overwrite: Bool = false) {
        self.format = format
        self.dtype = dtype
        self.overwrite = overwrite
    }
}
