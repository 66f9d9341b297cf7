import EAHCore

/// Why a conversion cannot be carried out as asked.
public enum ConversionProblem: CheckpointProblem, Equatable {
    /// The requested element type needs another output format (q8_0/q4_0 need GGUF).
    case dtypeNeedsGGUF(ConversionOptions.TargetDType)
    /// A tensor's type has no representation in the output format.
    case unstorableType(tensor: String, dtype: DType, format: ConversionOptions.OutputFormat)
    /// A tensor's values cannot be decoded (a quantization without a dequantizer).
    case cannotDecode(tensor: String, dtype: DType)
    /// The output path is the input itself.
    case outputIsInput
    /// The source cannot be written in llama.cpp's GGUF layout (the reason names the part).
    case notLlamaCppLayout(String)

    public var message: String {
        switch self {
        case .dtypeNeedsGGUF(let dtype): "--dtype \(dtype.rawValue) is a GGUF quantization and cannot be written to safetensors"
        case .unstorableType(let tensor, let dtype, let format): "tensor '\(tensor)' has type \(dtype.name), which \(format.rawValue) cannot store"
        case .cannotDecode(let tensor, let dtype): "tensor '\(tensor)' is \(dtype.name), which cannot be dequantized yet"
        case .outputIsInput: "the output is the input file"
        case .notLlamaCppLayout(let reason): "cannot be written in llama.cpp's layout: \(reason)"
        }
    }

    public var fix: String? {
        switch self {
        case .dtypeNeedsGGUF: "add --to gguf, or choose --dtype f32, f16 or bf16"
        case .unstorableType: "choose the other output format with --to"
        case .cannotDecode: "convert from a checkpoint in another type, or keep this tensor's type with --dtype keep and --to gguf"
        case .outputIsInput: "choose another output path; sources are never modified"
        case .notLlamaCppLayout: "pass --keep-names for a GGUF that keeps the source's tensor names (eah-run reads it, llama.cpp does not)"
        }
    }

    public var isUsageError: Bool {
        switch self {
        case .dtypeNeedsGGUF, .outputIsInput: true
        case .unstorableType, .cannotDecode, .notLlamaCppLayout: false
        }
    }
}
