/// What a bundle's `manifest.pb` says: which model it is, how EAH patches it, where the patch
/// came from, and the checksum of every weight file. Encoded with the protobuf schema in
/// `schemas/eah_manifest.proto` (see `EAHManifest+Protobuf.swift`).
public struct EAHManifest: Sendable, Equatable {
    /// The schema version this code writes; readers refuse newer major versions.
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int = EAHManifest.currentSchemaVersion
    /// `eah-convert`'s version string.
    public var toolVersion: String
    public var model: ModelIdentity
    public var patches: [EAHLayerPatch]
    /// Set when the broadcast is written into the weights (static selection, phase `all`).
    public var baked: Bool
    public var calibration: CalibrationProvenance?
    /// Every weight file in the bundle, by path relative to the bundle.
    public var weightFiles: [FileChecksum]

    public init(toolVersion: String, model: ModelIdentity, patches: [EAHLayerPatch], baked: Bool = false,
                calibration: CalibrationProvenance? = nil, weightFiles: [FileChecksum] = []) {
        self.toolVersion = toolVersion
        self.model = model
        self.patches = patches
        self.baked = baked
        self.calibration = calibration
        self.weightFiles = weightFiles
    }

    /// The model a bundle was made from.
    public struct ModelIdentity: Sendable, Equatable {
        /// e.g. `LlavaForConditionalGeneration`, `llava_llama`, `llama+clip (gguf)`.
        public var architecture: String
        /// `WeightLayout.rawValue` of the source.
        public var weightLayout: String
        /// The source files (relative names) with their SHA-256.
        public var sourceFiles: [FileChecksum]
        /// The model family (`llava-1.5`, `llava-next`); empty in older manifests.
        public var family: String

        public init(architecture: String, weightLayout: String, sourceFiles: [FileChecksum], family: String = "") {
            self.architecture = architecture
            self.weightLayout = weightLayout
            self.sourceFiles = sourceFiles
            self.family = family
        }
    }

    /// Where a static patch came from.
    public struct CalibrationProvenance: Sendable, Equatable {
        /// SHA-256 of the calibration data (the JSONL file, or the folder listing and prompt).
        public var dataDigest: String
        public var sampleCount: Int
        public var beta: Double
        /// Per calibrated layer and head.
        public var layers: [CalibrationStatistics.LayerSummary]

        public init(dataDigest: String, sampleCount: Int, beta: Double, layers: [CalibrationStatistics.LayerSummary]) {
            self.dataDigest = dataDigest
            self.sampleCount = sampleCount
            self.beta = beta
            self.layers = layers
        }
    }

    /// A file and the hex SHA-256 of its bytes.
    public struct FileChecksum: Sendable, Equatable {
        public var path: String
        public var sha256: String
        public var size: Int

        public init(path: String, sha256: String, size: Int) {
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }
}
