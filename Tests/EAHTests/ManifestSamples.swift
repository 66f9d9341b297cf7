import EAH

/// Manifests and raw protobuf bytes for the manifest tests.
enum ManifestSamples {
    static let digestA = String(repeating: "0123456789abcdef", count: 4)
    static let digestB = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// A manifest using every field: dynamic and static patches, both phases, a target subset,
    /// calibration with and without a chosen head, source and weight files.
    static func full(baked: Bool = false) -> EAHManifest {
        let patches: [EAHLayerPatch] = baked
            ? [EAHLayerPatch(layer: 2, selection: .fixed(head: 5), beta: 0.002, phase: .all),
               EAHLayerPatch(layer: 14, selection: .fixed(head: 0), beta: 0.0015, phase: .all, targetHeads: [1, 3, 7])]
            : [EAHLayerPatch(layer: 2, selection: .dynamic, beta: 0.002, phase: .prefill),
               EAHLayerPatch(layer: 14, selection: .fixed(head: 31), beta: 0.0015, phase: .all, targetHeads: [0, 4, 30]),
               EAHLayerPatch(layer: 0, selection: .fixed(head: 0), beta: 1.0 / 3.0, phase: .prefill, targetHeads: [2])]
        return EAHManifest(
            toolVersion: "eah-convert 0.1.0 (test)",
            model: .init(architecture: "LlavaForConditionalGeneration", weightLayout: "hf", sourceFiles: [
                .init(path: "model-00001-of-00002.safetensors", sha256: digestA, size: 4_987_654_321),
                .init(path: "sub/model-00002-of-00002.safetensors", sha256: digestB, size: 0),
            ], family: "llava-1.5"),
            patches: patches,
            baked: baked,
            calibration: .init(dataDigest: digestB, sampleCount: 128, beta: 0.002, layers: [
                .init(layer: 14, meanSinkCount: [0, 2.5, 11.25, 0.125], sinkDensity: [0, 0.0043, 0.0196, 0.0002],
                      winFrequency: [0, 0.25, 0.75, 0], chosenHead: 2, agreement: 0.75),
                .init(layer: 2, meanSinkCount: [0, 0], sinkDensity: [0, 0], winFrequency: [0, 0], chosenHead: nil, agreement: 0),
            ]),
            weightFiles: [
                .init(path: "model.safetensors", sha256: digestA, size: 123_456_789),
                .init(path: "mmproj/projector.safetensors", sha256: digestB, size: 42),
            ])
    }

    /// Protobuf wire bytes written by hand, for messages the Swift model cannot express.
    struct Wire {
        var bytes: [UInt8] = []

        mutating func varint(_ value: UInt64) {
            var rest = value
            while rest >= 0x80 { bytes.append(UInt8(rest & 0x7f) | 0x80); rest >>= 7 }
            bytes.append(UInt8(rest))
        }

        mutating func field(_ number: Int, varint value: Int64) {
            varint(UInt64(number << 3))
            varint(UInt64(bitPattern: value))
        }

        mutating func field(_ number: Int, message: Wire) {
            varint(UInt64(number << 3 | 2))
            varint(UInt64(message.bytes.count))
            bytes += message.bytes
        }

        mutating func field(_ number: Int, string: String) {
            field(number, bytes: Array(string.utf8))
        }

        mutating func field(_ number: Int, bytes value: [UInt8]) {
            varint(UInt64(number << 3 | 2))
            varint(UInt64(value.count))
            bytes += value
        }
    }

    /// A minimal manifest (version 1, a model) with `patch` as its only patch.
    static func wire(patch: Wire?, version: Int64 = 1, model: Bool = true) -> [UInt8] {
        var manifest = Wire()
        manifest.field(1, varint: version)
        if model {
            var identity = Wire()
            identity.field(1, string: "LlavaForConditionalGeneration")
            manifest.field(3, message: identity)
        }
        if let patch { manifest.field(4, message: patch) }
        return manifest.bytes
    }

    /// A LayerPatch's wire bytes: layer, selection, optional head, phase.
    static func patch(layer: Int64 = 3, selection: Int64, head: Int64? = nil, phase: Int64 = 1) -> Wire {
        var patch = Wire()
        patch.field(1, varint: layer)
        patch.field(2, varint: selection)
        if let head {
            var index = Wire()
            index.field(1, varint: head)
            patch.field(3, message: index)
        }
        patch.field(5, varint: phase)
        return patch
    }
}
