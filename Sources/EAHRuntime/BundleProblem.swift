import EAHCheckpoint

/// Why a bundle cannot be made or used.
public enum BundleProblem: CheckpointProblem, Equatable {
    /// A patch names a layer or head the model lacks, or an impossible combination.
    case badPatch(String)
    /// A weight file's bytes differ from the manifest's SHA-256 (or size).
    case checksumMismatch(file: String)
    /// A weight file the manifest lists is missing.
    case missingFile(String)
    /// The folder holds no `manifest.pb`.
    case notABundle
    /// `unpatch` on a bundle that was not baked.
    case notBaked

    public var message: String {
        switch self {
        case .badPatch(let text): text
        case .checksumMismatch(let file): "weight file '\(file)' does not match the manifest's SHA-256: the bundle was modified or damaged"
        case .missingFile(let file): "weight file '\(file)' listed in the manifest is missing"
        case .notABundle: "is not an eah bundle (no manifest.pb)"
        case .notBaked: "was not baked; its weights are the original ones already"
        }
    }

    public var fix: String? {
        switch self {
        case .badPatch: "choose layers and heads the model has; --bake needs static heads on all heads"
        case .checksumMismatch, .missingFile: "rebuild the bundle with eah-convert patch, or copy it again"
        case .notABundle: "pass a folder written by eah-convert patch"
        case .notBaked: "use the bundle as it is, or run eah-run --no-eah"
        }
    }

    public var isUsageError: Bool {
        switch self {
        case .badPatch, .notBaked: true
        default: false
        }
    }
}
