import EAHCheckpoint

/// Why a bundle cannot be made or used.
public enum BundleProblem: CheckpointProblem, Equatable {
    /// A patch names a layer or head the model lacks, or an impossible combination.
    case badPatch(String)
    /// A bundle's manifest names a layer or head its model lacks (the manifest is damaged or
    /// belongs to another model).
    case manifestMismatch(String)
    /// A weight file's bytes differ from the manifest's SHA-256 (or size).
    case checksumMismatch(file: String)
    /// A weight file the manifest lists is missing.
    case missingFile(String)
    /// The manifest lists no weight files: nothing could be verified, so it is not a bundle.
    case noWeightFiles
    /// A weight file in the bundle that the manifest does not list (so it is not verified).
    case unlistedWeightFile(String)
    /// A folder eah-convert wrote as a bundle has lost its `manifest.pb`.
    case missingManifest
    /// The folder holds no `manifest.pb`.
    case notABundle
    /// `--force` onto an existing path this tool did not write (a file, or a folder that is
    /// not a bundle or an output of eah-convert): replacing it would delete what is inside.
    case notOurOutput
    /// `unpatch` on a bundle that was not baked.
    case notBaked

    public var message: String {
        switch self {
        case .badPatch(let text): text
        case .manifestMismatch(let text): "the manifest does not match the model: \(text)"
        case .checksumMismatch(let file): "weight file '\(file)' does not match the manifest's SHA-256: the bundle was modified or damaged"
        case .missingFile(let file): "weight file '\(file)' listed in the manifest is missing"
        case .noWeightFiles: "the manifest lists no weight files, so the weights cannot be verified: this is not a complete bundle"
        case .unlistedWeightFile(let file): "weight file '\(file)' is in the bundle but not in the manifest, so it cannot be verified"
        case .missingManifest: "is an eah bundle whose manifest.pb is missing, so its weights cannot be verified"
        case .notABundle: "is not an eah bundle (no manifest.pb)"
        case .notOurOutput: "exists and was not written by eah-convert (no manifest.pb or .eah-output inside), so --force does not replace it"
        case .notBaked: "was not baked; its weights are the original ones already"
        }
    }

    public var fix: String? {
        switch self {
        case .badPatch: nil  // each message says what to change
        case .manifestMismatch: "rebuild the bundle with eah-convert patch from its model"
        case .noWeightFiles, .unlistedWeightFile, .missingManifest, .checksumMismatch, .missingFile: "rebuild the bundle with eah-convert patch, or copy it again"
        case .notABundle: "pass a folder written by eah-convert patch"
        case .notOurOutput: "choose another output path, or move the folder away first"
        case .notBaked: "use the bundle as it is, or run eah-run --no-eah"
        }
    }

    public var isUsageError: Bool {
        switch self {
        case .badPatch, .notBaked, .notOurOutput: true
        default: false
        }
    }
}
