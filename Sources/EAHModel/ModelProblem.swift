import EAHCheckpoint

/// Why a model cannot be loaded or run.
public enum ModelProblem: CheckpointProblem, Equatable {
    /// Tensors the architecture needs that the checkpoint lacks.
    case missingTensors([String])
    /// Tensors the checkpoint has that the architecture does not use.
    case unexpectedTensors([String])
    /// A tensor has the wrong shape.
    case wrongShape(tensor: String, expected: [Int], actual: [Int])
    /// A config field is missing, mistyped or out of range.
    case badConfig(field: String, reason: String)
    /// The layout is not a LLaVA model, or needs a companion file.
    case unsupportedLayout(String)
    /// A vision tower or mmproj file is needed and was not given.
    case needsCompanion(String)
    /// Arguments that do not fit the model (token ids, image markers).
    case badInput(String)
    /// A pixel-values file that does not fit the vision tower.
    case badPixelValues(String)
    /// An image whose positions alone exceed the model's context.
    case imageTooLarge(needed: Int, context: Int)
    /// An image given to a model without a vision tower.
    case noVisionTower
    /// EAH (calibrate, patch) asked of a model without a vision tower.
    case textOnlyForEAH

    public var message: String {
        switch self {
        case .missingTensors(let names): "missing tensors: \(Self.list(names))"
        case .unexpectedTensors(let names): "unexpected tensors: \(Self.list(names))"
        case .wrongShape(let tensor, let expected, let actual): "tensor '\(tensor)' has shape \(actual), expected \(expected)"
        case .badConfig(let field, let reason): "config field '\(field)' \(reason)"
        case .unsupportedLayout(let text): text
        case .needsCompanion(let text): text
        case .badInput(let text): text
        case .badPixelValues(let text): text
        case .imageTooLarge(let needed, let context):
            "this image needs \(needed) tokens but the model's context holds \(context) (max_position_embeddings)"
        case .noVisionTower:
            "the model has no vision tower (a text-only checkpoint, or a llama.cpp text GGUF without its --mmproj): it takes no image"
        case .textOnlyForEAH:
            "is a text-only model (no vision tower): EAH needs a vision-language model, since it acts on the attention to image tokens"
        }
    }

    public var fix: String? {
        switch self {
        case .missingTensors, .unexpectedTensors, .wrongShape: "check the checkpoint matches its config.json (an incomplete download or a different model)"
        case .badConfig: "fix config.json, or pass the model's original config"
        case .unsupportedLayout: "pass a llava-hf folder, an original LLaVA folder with --vision-tower, or a GGUF with --mmproj"
        case .needsCompanion: nil
        case .badInput: nil
        case .badPixelValues: "write [1, 3, H, W] F32 pixel values at the vision tower's image size (eah-convert preprocess)"
        case .imageTooLarge: "pass a smaller image, or use a model with a longer context"
        case .noVisionTower: "drop --image/--pixel-values and <image>, or pass the mmproj"
        case .textOnlyForEAH:
            "pass a vision-language model (a LLaVA, Qwen2-VL, InternVL or Gemma 3 folder, or a llama.cpp GGUF with its --mmproj); run this one without EAH: eah-run MODEL --prompt TEXT"
        }
    }

    public var isUsageError: Bool {
        switch self {
        case .needsCompanion, .badInput, .noVisionTower: true
        default: false
        }
    }

    static func list(_ names: [String]) -> String {
        let shown = names.prefix(8).map { "'\(TerminalText.escape($0))'" }.joined(separator: ", ")
        return names.count > 8 ? "\(shown), and \(names.count - 8) more" : shown
    }
}

