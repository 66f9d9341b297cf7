import EAH
import EAHCheckpoint
import EAHModel

/// What to load and which EAH hook to run, from a model path or a bundle plus run options.
///
/// A bundle is verified and gives its model, companions and manifest patches (none when baked:
/// the weights carry them). `noEAH` runs the model as it was (a baked bundle's original rows
/// are laid over its patched ones). A plain model gets dynamic EAH at `dynamicLayers`, if any.
public struct ModelSource {
    public let model: String
    public let visionTower: String?
    public let mmproj: String?
    public let textOverlay: String?
    public let hook: EAHAttentionHook?
    public let bundle: EAHBundle?

    public init(path: String, visionTower: String?, mmproj: String?, noEAH: Bool, dynamicLayers: [Int],
                beta: Double, phase: EAHLayerPatch.Phase) throws(CheckpointError) {
        if EAHBundle.isBundle(path) {
            guard visionTower == nil, mmproj == nil, dynamicLayers.isEmpty else {
                throw CheckpointError(path: path, problem: BundleProblem.badPatch(
                    "a bundle carries its own vision tower, mmproj and patches: drop --vision-tower, --mmproj and --eah-layer"))
            }
            let bundle = try EAHBundle(path: path)
            self.bundle = bundle
            model = bundle.modelPath
            self.visionTower = bundle.visionTower
            self.mmproj = bundle.mmproj
            textOverlay = noEAH && bundle.manifest.baked ? bundle.originalRows : nil
            hook = noEAH ? nil : bundle.hook
        } else {
            try EAHBundle.refuseDamagedBundle(path)
            bundle = nil
            model = path
            self.visionTower = visionTower
            self.mmproj = mmproj
            textOverlay = nil
            hook = noEAH || dynamicLayers.isEmpty ? nil
                : EAHAttentionHook(patches: dynamicLayers.map { EAHLayerPatch(layer: $0, selection: .dynamic, beta: beta, phase: phase) })
        }
    }

    /// The model, with the overlay applied.
    public func load() throws(CheckpointError) -> any VisionLanguageModel {
        try ModelFamilies.load(ModelRequest(model: model, visionTower: visionTower, mmproj: mmproj, textOverlay: textOverlay))
    }

    /// Checks that every patched layer, static head and target head exists in the loaded model:
    /// a bundle's manifest is input (a mismatch is `BundleProblem.manifestMismatch`, exit 1),
    /// `--eah-layer` is usage.
    public func validate(against shape: DecoderShape) throws(CheckpointError) {
        let layers = shape.layerCount, heads = shape.headCount
        if let bundle {
            for (index, patch) in bundle.manifest.patches.enumerated() {
                func fail(_ text: String) -> CheckpointError {
                    CheckpointError(path: bundle.path + "/" + BundleLayout.manifest, problem: BundleProblem.manifestMismatch("patches[\(index)]: \(text)"))
                }
                guard patch.layer < layers else { throw fail("layer \(patch.layer) does not exist (the decoder has \(layers))") }
                if case .fixed(let head) = patch.selection, head >= heads {
                    throw fail("head \(head) does not exist (layer \(patch.layer) has \(heads) heads)")
                }
                if let target = patch.targetHeads?.first(where: { $0 >= heads }) {
                    throw fail("target head \(target) does not exist (layer \(patch.layer) has \(heads) heads)")
                }
            }
            return
        }
        for layer in hook?.patches.keys.sorted() ?? [] where layer >= layers {
            throw CheckpointError(path: model, problem: BundleProblem.badPatch("layer \(layer) does not exist (the decoder has \(layers))"))
        }
    }
}
