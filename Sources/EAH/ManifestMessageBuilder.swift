import CEAHManifest
import EAHCore

/// Builds the protobuf-c structs of an `EAHManifest` for `eah__manifest__pack`, owning every
/// allocation (messages, arrays, strings) until the builder is released.
final class ManifestMessageBuilder {
    private var releases: [() -> Void] = []

    deinit {
        for release in releases { release() }
    }

    /// The `eah.Manifest` of `manifest`, valid while the builder lives. Ints outside Int32 are
    /// clamped (`validate()` refuses them before a write).
    func message(_ manifest: EAHManifest) -> UnsafeMutablePointer<Eah__Manifest> {
        let message = allocate(eah__manifest__init)
        message.pointee.schema_version = UInt32(clamping: manifest.schemaVersion)
        message.pointee.tool_version = string(manifest.toolVersion)
        message.pointee.model = model(manifest.model)
        (message.pointee.n_patches, message.pointee.patches) = array(manifest.patches.map(patch))
        message.pointee.baked = manifest.baked ? 1 : 0
        message.pointee.calibration = manifest.calibration.map(calibration)
        (message.pointee.n_weight_files, message.pointee.weight_files) = array(manifest.weightFiles.map(file))
        return message
    }

    private func model(_ model: EAHManifest.ModelIdentity) -> UnsafeMutablePointer<Eah__ModelIdentity> {
        let message = allocate(eah__model_identity__init)
        message.pointee.architecture = string(model.architecture)
        message.pointee.weight_layout = string(model.weightLayout)
        message.pointee.family = string(model.family)
        (message.pointee.n_source_files, message.pointee.source_files) = array(model.sourceFiles.map(file))
        return message
    }

    private func patch(_ patch: EAHLayerPatch) -> UnsafeMutablePointer<Eah__LayerPatch>? {
        let message = allocate(eah__layer_patch__init)
        message.pointee.layer = Int32(clamping: patch.layer)
        switch patch.selection {
        case .dynamic:
            message.pointee.selection = EAH__SELECTION__SELECTION_DYNAMIC
        case .fixed(let head):
            message.pointee.selection = EAH__SELECTION__SELECTION_STATIC
            message.pointee.head = headIndex(head)
        }
        message.pointee.beta = patch.beta
        message.pointee.phase = patch.phase == .all ? EAH__PHASE__PHASE_ALL : EAH__PHASE__PHASE_PREFILL
        (message.pointee.n_target_heads, message.pointee.target_heads) = array((patch.targetHeads ?? []).map { Int32(clamping: $0) })
        return message
    }

    private func calibration(_ calibration: EAHManifest.CalibrationProvenance) -> UnsafeMutablePointer<Eah__CalibrationProvenance> {
        let message = allocate(eah__calibration_provenance__init)
        message.pointee.data_digest = string(calibration.dataDigest)
        message.pointee.sample_count = UInt64(clamping: calibration.sampleCount)
        message.pointee.beta = calibration.beta
        (message.pointee.n_layers, message.pointee.layers) = array(calibration.layers.map(statistics))
        return message
    }

    private func statistics(_ summary: CalibrationStatistics.LayerSummary) -> UnsafeMutablePointer<Eah__LayerStatistics>? {
        let message = allocate(eah__layer_statistics__init)
        message.pointee.layer = Int32(clamping: summary.layer)
        (message.pointee.n_mean_sink_count, message.pointee.mean_sink_count) = array(summary.meanSinkCount)
        (message.pointee.n_sink_density, message.pointee.sink_density) = array(summary.sinkDensity)
        (message.pointee.n_win_frequency, message.pointee.win_frequency) = array(summary.winFrequency)
        message.pointee.chosen_head = summary.chosenHead.map(headIndex)
        message.pointee.agreement = summary.agreement
        return message
    }

    private func headIndex(_ head: Int) -> UnsafeMutablePointer<Eah__HeadIndex> {
        let message = allocate(eah__head_index__init)
        message.pointee.value = Int32(clamping: head)
        return message
    }

    private func file(_ file: EAHManifest.FileChecksum) -> UnsafeMutablePointer<Eah__FileChecksum>? {
        let message = allocate(eah__file_checksum__init)
        message.pointee.path = string(file.path)
        message.pointee.sha256 = string(file.sha256)
        message.pointee.size = UInt64(clamping: file.size)
        return message
    }

    /// One message initialised by its generated `*__init`.
    private func allocate<Message>(_ initialize: (UnsafeMutablePointer<Message>?) -> Void) -> UnsafeMutablePointer<Message> {
        let pointer = UnsafeMutablePointer<Message>.allocate(capacity: 1)
        releases.append { pointer.deallocate() }
        initialize(pointer)
        return pointer
    }

    /// A C array of `values` and its count (NULL when empty).
    private func array<Element>(_ values: [Element]) -> (Int, UnsafeMutablePointer<Element>?) {
        guard !values.isEmpty else { return (0, nil) }
        let pointer = UnsafeMutablePointer<Element>.allocate(capacity: values.count)
        pointer.initialize(from: values, count: values.count)
        releases.append { pointer.deinitialize(count: values.count); pointer.deallocate() }
        return (values.count, pointer)
    }

    /// A NUL-terminated copy of `text` (protobuf-c strings end at the first NUL).
    private func string(_ text: String) -> UnsafeMutablePointer<CChar>? {
        let copy = strdup(text)
        releases.append { free(copy) }
        return copy
    }
}
