import CEAHManifest
import EAHCheckpoint
import EAHCore

extension EAHManifest {
    /// The manifest's file name inside a bundle folder.
    public static let fileName = "manifest.pb"

    /// The protobuf encoding (`eah.Manifest` of `schemas/eah_manifest.proto`), packed by
    /// libprotobuf-c. Does not validate: `write(to:overwrite:)` does.
    public func serialized() -> [UInt8] {
        let builder = ManifestMessageBuilder()
        return withExtendedLifetime(builder) {
            let message = builder.message(self)
            let size = eah__manifest__get_packed_size(message)
            var bytes = [UInt8](repeating: 0, count: size)
            let written = bytes.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress.map { eah__manifest__pack(message, $0) } ?? 0
            }
            return Array(bytes.prefix(written))
        }
    }

    /// Decodes `bytes` with libprotobuf-c and validates the result (`validate()`).
    public init(serialized bytes: UnsafeRawBufferPointer) throws(ManifestProblem) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { throw .empty }
        guard let message = eah__manifest__unpack(nil, bytes.count, base.assumingMemoryBound(to: UInt8.self)) else {
            throw .undecodable(byteCount: bytes.count)
        }
        defer { eah__manifest__free_unpacked(message, nil) }
        let manifest = message.pointee
        // The version first: a newer major version may mean anything below.
        let version = Int(manifest.schema_version)
        if version == 0 { throw .missingSchemaVersion }
        if version > Self.currentSchemaVersion {
            throw .unsupportedSchemaVersion(found: version, supported: Self.currentSchemaVersion)
        }
        guard let model = manifest.model else { throw .missingField("model") }
        self.init(
            toolVersion: try Self.text(manifest.tool_version, field: "tool_version"),
            model: ModelIdentity(
                architecture: try Self.text(model.pointee.architecture, field: "model.architecture"),
                weightLayout: try Self.text(model.pointee.weight_layout, field: "model.weight_layout"),
                sourceFiles: try Self.files(model.pointee.source_files, model.pointee.n_source_files, field: "model.source_files"),
                family: try Self.text(model.pointee.family, field: "model.family")),
            patches: try Self.patches(manifest.patches, manifest.n_patches),
            baked: manifest.baked != 0,
            calibration: try manifest.calibration.map { pointer throws(ManifestProblem) in try Self.calibration(pointer.pointee) },
            weightFiles: try Self.files(manifest.weight_files, manifest.n_weight_files, field: "weight_files"))
        schemaVersion = version
        try validate()
    }

    /// Reads and validates the manifest at `path`: a `manifest.pb` file, or a bundle folder
    /// holding one.
    public static func read(path: String) throws(CheckpointError) -> EAHManifest {
        let file = try MappedFile(path: Self.manifestPath(path))
        do {
            return try withExtendedLifetime(file) { () throws(ManifestProblem) -> EAHManifest in
                try EAHManifest(serialized: file.bytes)
            }
        } catch {
            throw CheckpointError(path: file.path, problem: error)
        }
    }

    /// Validates the manifest and writes it atomically to `path` (a file, or an existing
    /// bundle folder to hold `manifest.pb`). An existing file is replaced only if `overwrite`.
    public func write(to path: String, overwrite: Bool) throws(CheckpointError) {
        let target = Self.manifestPath(path)
        do { try validate() } catch { throw CheckpointError(path: target, problem: error) }
        let output = try AtomicOutputFile(path: target, overwrite: overwrite)
        try output.write(serialized())
        try output.commit()
    }

    /// `path/manifest.pb` when `path` is a folder, else `path`.
    static func manifestPath(_ path: String) -> String {
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else { return path }
        return path.hasSuffix("/") ? path + fileName : path + "/" + fileName
    }

    // MARK: Decoding the protobuf-c structs

    /// The elements of a protobuf-c repeated field (empty when the pointer is NULL).
    private static func elements<Element>(_ base: UnsafeMutablePointer<Element>?, _ count: Int) -> UnsafeBufferPointer<Element> {
        guard let base, count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: base, count: count)
    }

    private static func text(_ pointer: UnsafeMutablePointer<CChar>?, field: String) throws(ManifestProblem) -> String {
        guard let pointer else { return "" }
        guard let text = String(validatingCString: pointer) else { throw .invalidText(field: field) }
        return text
    }

    private static func count(_ value: UInt64, field: String) throws(ManifestProblem) -> Int {
        guard let count = Int(exactly: value) else { throw .invalidCount(field: field, value: String(value)) }
        return count
    }

    private static func files(_ base: UnsafeMutablePointer<UnsafeMutablePointer<Eah__FileChecksum>?>?, _ count: Int,
                              field: String) throws(ManifestProblem) -> [FileChecksum] {
        var files: [FileChecksum] = []
        for (index, element) in elements(base, count).enumerated() {
            guard let file = element?.pointee else { throw .missingField("\(field)[\(index)]") }
            files.append(FileChecksum(
                path: try text(file.path, field: "\(field)[\(index)].path"),
                sha256: try text(file.sha256, field: "\(field)[\(index)].sha256"),
                size: try Self.count(file.size, field: "\(field)[\(index)].size")))
        }
        return files
    }

    private static func patches(_ base: UnsafeMutablePointer<UnsafeMutablePointer<Eah__LayerPatch>?>?,
                                _ count: Int) throws(ManifestProblem) -> [EAHLayerPatch] {
        var patches: [EAHLayerPatch] = []
        for (index, element) in elements(base, count).enumerated() {
            let field = "patches[\(index)]"
            guard let patch = element?.pointee else { throw .missingField(field) }
            let layer = Int(patch.layer)
            let head = patch.head.map { Int($0.pointee.value) }
            let selection: EAHLayerPatch.Selection
            switch patch.selection {
            case EAH__SELECTION__SELECTION_DYNAMIC:
                if let head { throw .dynamicPatchWithHead(layer: layer, head: head) }
                selection = .dynamic
            case EAH__SELECTION__SELECTION_STATIC:
                guard let head else { throw .staticPatchWithoutHead(layer: layer) }
                selection = .fixed(head: head)
            default:
                throw .invalidEnum(field: "\(field).selection", value: Int(Int32(truncatingIfNeeded: patch.selection.rawValue)))
            }
            let phase: EAHLayerPatch.Phase
            switch patch.phase {
            case EAH__PHASE__PHASE_PREFILL: phase = .prefill
            case EAH__PHASE__PHASE_ALL: phase = .all
            default: throw .invalidEnum(field: "\(field).phase", value: Int(Int32(truncatingIfNeeded: patch.phase.rawValue)))
            }
            let targets = elements(patch.target_heads, patch.n_target_heads).map { Int($0) }
            patches.append(EAHLayerPatch(layer: layer, selection: selection, beta: patch.beta, phase: phase,
                                         targetHeads: targets.isEmpty ? nil : targets))
        }
        return patches
    }

    private static func calibration(_ calibration: Eah__CalibrationProvenance) throws(ManifestProblem) -> CalibrationProvenance {
        var layers: [CalibrationStatistics.LayerSummary] = []
        for (index, element) in elements(calibration.layers, calibration.n_layers).enumerated() {
            guard let layer = element?.pointee else { throw .missingField("calibration.layers[\(index)]") }
            layers.append(CalibrationStatistics.LayerSummary(
                layer: Int(layer.layer),
                meanSinkCount: Array(elements(layer.mean_sink_count, layer.n_mean_sink_count)),
                sinkDensity: Array(elements(layer.sink_density, layer.n_sink_density)),
                winFrequency: Array(elements(layer.win_frequency, layer.n_win_frequency)),
                chosenHead: layer.chosen_head.map { Int($0.pointee.value) },
                agreement: layer.agreement))
        }
        return CalibrationProvenance(
            dataDigest: try text(calibration.data_digest, field: "calibration.data_digest"),
            sampleCount: try count(calibration.sample_count, field: "calibration.sample_count"),
            beta: calibration.beta,
            layers: layers)
    }
}
