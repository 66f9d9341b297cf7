import EAHCheckpoint

/// What is wrong with a bundle's `manifest.pb` (reading), or with an `EAHManifest` about to be
/// written (`EAHManifest.validate()`).
///
/// `field` values use the schema's names with indices, e.g. `patches[2].head`, so a message
/// points at the exact field of `schemas/eah_manifest.proto`.
public enum ManifestProblem: CheckpointProblem, Equatable {
    /// The file has no bytes.
    case empty
    /// libprotobuf-c cannot decode the bytes as an `eah.Manifest` (truncated, corrupt, or not
    /// a manifest at all).
    case undecodable(byteCount: Int)
    /// `schema_version` is 0 or absent: the message is not an EAH manifest.
    case missingSchemaVersion
    /// A manifest of a newer major version than this reader knows.
    case unsupportedSchemaVersion(found: Int, supported: Int)
    /// A required message field is absent (`model`).
    case missingField(String)
    /// A string field holds bytes that are not UTF-8.
    case invalidText(field: String)
    /// An enum field holds 0 (unspecified) or a value this reader does not know.
    case invalidEnum(field: String, value: Int)
    /// A layer or head index below 0 or above Int32.max.
    case invalidIndex(field: String, value: Int)
    /// A count or size that does not fit this platform's `Int` (or is negative when writing).
    case invalidCount(field: String, value: String)
    /// A static patch without `head`.
    case staticPatchWithoutHead(layer: Int)
    /// A dynamic patch with `head` set.
    case dynamicPatchWithHead(layer: Int, head: Int)
    /// The same layer patched (or calibrated) twice.
    case duplicateLayer(field: String, layer: Int)
    /// `target_heads` names a head twice.
    case duplicateTargetHead(layer: Int, head: Int)
    /// `targetHeads` is an empty list (not nil) when writing: it would read back as all heads.
    case emptyTargetHeads(layer: Int)
    /// β is not a finite number in [0, 1].
    case invalidBeta(field: String, value: Double)
    /// A share or density that is not a finite number in [0, 1], or a mean count below 0.
    case invalidStatistic(field: String, value: Double)
    /// A layer's per-head statistics have different lengths.
    case statisticsLengthMismatch(layer: Int, meanSinkCount: Int, sinkDensity: Int, winFrequency: Int)
    /// `chosen_head` is not one of the layer's heads.
    case chosenHeadOutOfRange(layer: Int, head: Int, headCount: Int)
    /// A digest that is not 64 lowercase hexadecimal characters.
    case invalidDigest(field: String, value: String)
    /// A path that is empty, absolute, or has a `..` (or empty) component.
    case invalidPath(field: String, path: String)
    /// The same path listed twice.
    case duplicatePath(field: String, path: String)
    /// `baked` is set but a patch is not static with phase `all`.
    case bakedPatchNotStaticAll(layer: Int)

    public var message: String {
        switch self {
        case .empty: "the manifest is empty (0 bytes)"
        case .undecodable(let count): "the \(count) bytes are not a valid eah.Manifest protobuf message (truncated or corrupt)"
        case .missingSchemaVersion: "schema_version is missing (0): this is not an EAH manifest"
        case .unsupportedSchemaVersion(let found, let supported):
            "schema_version is \(found) but this reader supports versions up to \(supported)"
        case .missingField(let field): "\(field) is missing"
        case .invalidText(let field): "\(field) is not valid UTF-8"
        case .invalidEnum(let field, let value):
            value == 0 ? "\(field) is unspecified (0)" : "\(field) has the unknown value \(value)"
        case .invalidIndex(let field, let value): "\(field) is \(value), not an index between 0 and \(Int32.max)"
        case .invalidCount(let field, let value): "\(field) is \(value), which is out of range"
        case .staticPatchWithoutHead(let layer): "patches: the static patch of layer \(layer) has no head"
        case .dynamicPatchWithHead(let layer, let head):
            "patches: the dynamic patch of layer \(layer) names head \(head), which only static patches may"
        case .duplicateLayer(let field, let layer): "\(field): layer \(layer) appears more than once"
        case .duplicateTargetHead(let layer, let head):
            "patches: the target_heads of layer \(layer) list head \(head) more than once"
        case .emptyTargetHeads(let layer):
            "patches: the patch of layer \(layer) has an empty target head list, which the manifest cannot tell from 'all heads'"
        case .invalidBeta(let field, let value): "\(field) is \(value), not a threshold in [0, 1]"
        case .invalidStatistic(let field, let value): "\(field) is \(value), which is out of range"
        case .statisticsLengthMismatch(let layer, let mean, let density, let wins):
            "calibration.layers: layer \(layer) has per-head statistics of different lengths (mean_sink_count \(mean), sink_density \(density), win_frequency \(wins))"
        case .chosenHeadOutOfRange(let layer, let head, let count):
            "calibration.layers: layer \(layer)'s chosen_head \(head) is not one of its \(count) heads"
        case .invalidDigest(let field, let value):
            "\(field) is \"\(value.prefix(80))\", not a SHA-256 in 64 lowercase hexadecimal characters"
        case .invalidPath(let field, let path):
            "\(field) is \"\(path.prefix(200))\", not a relative path inside the folder"
        case .duplicatePath(let field, let path): "\(field): \"\(path.prefix(200))\" is listed more than once"
        case .bakedPatchNotStaticAll(let layer):
            "baked is set but the patch of layer \(layer) is not static with phase all, so it cannot be in the weights"
        }
    }

    public var fix: String? {
        switch self {
        case .empty, .undecodable:
            "write the bundle again with eah-convert, or copy manifest.pb again; it is damaged"
        case .missingSchemaVersion: "pass the manifest.pb of an EAH bundle"
        case .unsupportedSchemaVersion: "update eah to a version that reads this bundle, or rewrite the bundle with this version"
        case .staticPatchWithoutHead: "give the static patch its head, or make it dynamic"
        case .dynamicPatchWithHead: "drop the head, or make the patch static"
        case .emptyTargetHeads: "pass nil for every head, or list the heads"
        case .bakedPatchNotStaticAll: "clear baked, or bake only static patches with phase all"
        case .invalidDigest: "recompute the digest with FileDigest (or sha256sum) and write the manifest again"
        case .missingField, .invalidText, .invalidEnum, .invalidIndex, .invalidCount, .duplicateLayer,
             .duplicateTargetHead, .invalidBeta, .invalidStatistic, .statisticsLengthMismatch,
             .chosenHeadOutOfRange, .invalidPath, .duplicatePath:
            "fix the field (see schemas/eah_manifest.proto) and write the manifest again"
        }
    }
}
