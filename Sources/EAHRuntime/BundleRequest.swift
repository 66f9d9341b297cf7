import EAH
import EAHCheckpoint

/// What `BundleWriter` makes: a model, its EAH patches, and the output's format.
public struct BundleRequest: Sendable {
    public var model: String
    public var visionTower: String?
    public var mmproj: String?
    public var patches: [EAHLayerPatch]
    /// Write the (static) broadcast into the weights.
    public var bake: Bool
    public var calibration: EAHManifest.CalibrationProvenance?
    /// Output format of the text model's weights; nil keeps the source's kind (GGUF stays GGUF,
    /// everything else becomes safetensors).
    public var format: ConversionOptions.OutputFormat?
    public var dtype: ConversionOptions.TargetDType
    /// Text files written into the bundle before it is renamed into place (the main job's
    /// `calibration.json` and heatmap), by name: an interrupted run leaves all or nothing.
    public var extraFiles: [(name: String, text: String)] = []
    /// llama.cpp's layout: the byte-level BPE pre-tokenizer declared instead of the hash's choice.
    public var tokenizerPre: String?

    public init(model: String, visionTower: String? = nil, mmproj: String? = nil, patches: [EAHLayerPatch], bake: Bool = false,
                calibration: EAHManifest.CalibrationProvenance? = nil, format: ConversionOptions.OutputFormat? = nil,
                dtype: ConversionOptions.TargetDType = .keep) {
        self.model = model
        self.visionTower = visionTower
        self.mmproj = mmproj
        self.patches = patches
        self.bake = bake
        self.calibration = calibration
        self.format = format
        self.dtype = dtype
    }
}
