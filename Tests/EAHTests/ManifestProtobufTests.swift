import EAH
import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// EAHManifest through protobuf-c: round trips, strict validation, malformed bytes.
@Suite("manifest protobuf")
struct ManifestProtobufTests {
    static func decode(_ bytes: [UInt8]) throws(ManifestProblem) -> EAHManifest {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ManifestProblem) -> EAHManifest in try EAHManifest(serialized: raw) }
        }
        return try result.get()
    }

    static func problem(_ bytes: [UInt8]) -> ManifestProblem? {
        do { _ = try decode(bytes); return nil } catch { return error }
    }

    @Test("a full manifest round-trips", arguments: [false, true])
    func roundTrip(baked: Bool) throws {
        let manifest = ManifestSamples.full(baked: baked)
        try manifest.validate()
        let bytes = manifest.serialized()
        #expect(!bytes.isEmpty)
        let decoded = try Self.decode(bytes)
        #expect(decoded == manifest)
        #expect(decoded.serialized() == bytes)
    }

    @Test("a minimal manifest round-trips; no calibration, no patches, no files")
    func minimal() throws {
        let manifest = EAHManifest(toolVersion: "", model: .init(architecture: "", weightLayout: "", sourceFiles: []), patches: [])
        let decoded = try Self.decode(manifest.serialized())
        #expect(decoded == manifest)
        #expect(decoded.calibration == nil)
        #expect(decoded.schemaVersion == EAHManifest.currentSchemaVersion)
    }

    @Test("the wire bytes follow the schema's field numbers")
    func wireLayout() throws {
        let manifest = EAHManifest(toolVersion: "t", model: .init(architecture: "a", weightLayout: "hf", sourceFiles: []),
                                   patches: [EAHLayerPatch(layer: 3, selection: .fixed(head: 5), beta: 0.5, phase: .all)],
                                   baked: true)
        // Fields in number order; beta (4) is a little-endian fixed64.
        var patch = ManifestSamples.Wire()
        patch.field(1, varint: 3)
        patch.field(2, varint: 2)
        var head = ManifestSamples.Wire()
        head.field(1, varint: 5)
        patch.field(3, message: head)
        patch.varint(4 << 3 | 1)
        patch.bytes += withUnsafeBytes(of: (0.5 as Double).bitPattern.littleEndian, Array.init)
        patch.field(5, varint: 2)
        var expected = ManifestSamples.Wire()
        expected.field(1, varint: 1)
        expected.field(2, string: "t")
        var model = ManifestSamples.Wire()
        model.field(1, string: "a")
        model.field(2, string: "hf")
        expected.field(3, message: model)
        expected.field(4, message: patch)
        expected.field(5, varint: 1)
        #expect(manifest.serialized() == expected.bytes)
        #expect(try Self.decode(expected.bytes) == manifest)
    }

    @Test("a newer schema version is refused, an absent one too")
    func schemaVersion() {
        var manifest = ManifestSamples.full()
        manifest.schemaVersion = 2
        #expect(Self.problem(manifest.serialized()) == .unsupportedSchemaVersion(found: 2, supported: 1))
        #expect(Self.problem(ManifestSamples.wire(patch: nil, version: 7)) == .unsupportedSchemaVersion(found: 7, supported: 1))
        #expect(Self.problem(ManifestSamples.wire(patch: nil, version: 0)) == .missingSchemaVersion)
        #expect(throws: ManifestProblem.unsupportedSchemaVersion(found: 2, supported: 1)) { try manifest.validate() }
    }

    @Test("selection and head must agree")
    func staticAndDynamicHeads() throws {
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(layer: 4, selection: 2))) == .staticPatchWithoutHead(layer: 4))
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(layer: 4, selection: 1, head: 2))) == .dynamicPatchWithHead(layer: 4, head: 2))
        let fine = try Self.decode(ManifestSamples.wire(patch: ManifestSamples.patch(layer: 4, selection: 2, head: 9, phase: 2)))
        #expect(fine.patches == [EAHLayerPatch(layer: 4, selection: .fixed(head: 9), beta: 0, phase: .all)])
    }

    @Test("unspecified and unknown enum values are refused")
    func enums() {
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(selection: 0))) == .invalidEnum(field: "patches[0].selection", value: 0))
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(selection: 9))) == .invalidEnum(field: "patches[0].selection", value: 9))
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(selection: -1))) == .invalidEnum(field: "patches[0].selection", value: -1))
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(selection: 1, phase: 0))) == .invalidEnum(field: "patches[0].phase", value: 0))
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(selection: 1, phase: 3))) == .invalidEnum(field: "patches[0].phase", value: 3))
    }

    @Test("negative indices are refused")
    func negativeIndices() {
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(layer: -1, selection: 1))) == .invalidIndex(field: "patches[0].layer", value: -1))
        #expect(Self.problem(ManifestSamples.wire(patch: ManifestSamples.patch(selection: 2, head: -3))) == .invalidIndex(field: "patches[0].head", value: -3))
        var manifest = ManifestSamples.full()
        manifest.patches[1].targetHeads = [1, -2]
        #expect(Self.problem(manifest.serialized()) == .invalidIndex(field: "patches[1].target_heads[1]", value: -2))
    }

    @Test("a missing model is refused")
    func missingModel() {
        #expect(Self.problem(ManifestSamples.wire(patch: nil, model: false)) == .missingField("model"))
    }

    @Test("empty, truncated and corrupt bytes give ManifestProblem, never a crash")
    func malformedBytes() throws {
        #expect(Self.problem([]) == .empty)
        #expect(Self.problem([0xff, 0xff, 0xff, 0xff]) == .undecodable(byteCount: 4))
        let bytes = ManifestSamples.full().serialized()
        // weight_files (field 7) is the last, length-delimited field: cutting into it breaks the message.
        #expect(Self.problem(Array(bytes.dropLast())) == .undecodable(byteCount: bytes.count - 1))
        #expect(Self.problem(Array(bytes.prefix(3))) == .undecodable(byteCount: 3))
        for length in 1..<bytes.count {
            // A cut at a field boundary can decode (a shorter manifest); it must then validate.
            if let manifest = try? Self.decode(Array(bytes.prefix(length))) { try manifest.validate() }
        }
        var random = SplitMix64(seed: 0x5EED)
        for _ in 0..<2_000 {
            var mutated = bytes
            for _ in 0..<Int(random.next() % 4 + 1) {
                mutated[Int(random.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: random.next())
            }
            if let manifest = try? Self.decode(mutated) { try manifest.validate() }
        }
    }

    @Test("invalid UTF-8 in a string is refused")
    func invalidText() {
        var manifest = ManifestSamples.Wire()
        manifest.field(1, varint: 1)
        manifest.field(2, bytes: [0x66, 0xff, 0xfe])
        var model = ManifestSamples.Wire()
        model.field(1, string: "a")
        manifest.field(3, message: model)
        #expect(Self.problem(manifest.bytes) == .invalidText(field: "tool_version"))
    }

    @Test("unknown fields of the same major version are ignored")
    func unknownFields() throws {
        var bytes = ManifestSamples.full().serialized()
        var extra = ManifestSamples.Wire()
        extra.field(99, string: "from a newer minor version")
        extra.field(100, varint: 5)
        bytes += extra.bytes
        #expect(try Self.decode(bytes) == ManifestSamples.full())
    }

    @Test("validation: digests, paths, β, statistics, duplicates, baked")
    func validation() {
        func check(_ expected: ManifestProblem, _ change: (inout EAHManifest) -> Void) {
            var manifest = ManifestSamples.full()
            change(&manifest)
            #expect(throws: expected) { try manifest.validate() }
            // The reader applies the same rules to the bytes.
            #expect(Self.problem(manifest.serialized()) == expected)
        }
        check(.invalidDigest(field: "weight_files[0].sha256", value: "abc")) { $0.weightFiles[0].sha256 = "abc" }
        let upper = ManifestSamples.digestA.uppercased()
        check(.invalidDigest(field: "model.source_files[1].sha256", value: upper)) { $0.model.sourceFiles[1].sha256 = upper }
        check(.invalidDigest(field: "calibration.data_digest", value: "")) { $0.calibration?.dataDigest = "" }
        check(.invalidPath(field: "weight_files[1].path", path: "/etc/passwd")) { $0.weightFiles[1].path = "/etc/passwd" }
        check(.invalidPath(field: "weight_files[1].path", path: "a/../../b")) { $0.weightFiles[1].path = "a/../../b" }
        check(.invalidPath(field: "weight_files[0].path", path: "")) { $0.weightFiles[0].path = "" }
        check(.duplicatePath(field: "weight_files", path: "model.safetensors")) { $0.weightFiles[1].path = "model.safetensors" }
        check(.invalidBeta(field: "patches[0].beta", value: 1.5)) { $0.patches[0].beta = 1.5 }
        check(.invalidBeta(field: "calibration.beta", value: -0.1)) { $0.calibration?.beta = -0.1 }
        check(.duplicateLayer(field: "patches", layer: 2)) { $0.patches[1].layer = 2 }
        check(.duplicateTargetHead(layer: 14, head: 4)) { $0.patches[1].targetHeads = [4, 1, 4] }
        check(.bakedPatchNotStaticAll(layer: 2)) { $0.baked = true }
        check(.chosenHeadOutOfRange(layer: 14, head: 4, headCount: 4)) {
            let layer = $0.calibration!.layers[0]
            $0.calibration!.layers[0] = .init(layer: 14, meanSinkCount: layer.meanSinkCount, sinkDensity: layer.sinkDensity,
                                              winFrequency: layer.winFrequency, chosenHead: 4, agreement: layer.agreement)
        }
        check(.statisticsLengthMismatch(layer: 2, meanSinkCount: 2, sinkDensity: 1, winFrequency: 2)) {
            $0.calibration!.layers[1] = .init(layer: 2, meanSinkCount: [0, 0], sinkDensity: [0], winFrequency: [0, 0], chosenHead: nil, agreement: 0)
        }
        check(.invalidStatistic(field: "calibration.layers[1].win_frequency[0]", value: 2)) {
            $0.calibration!.layers[1] = .init(layer: 2, meanSinkCount: [0, 0], sinkDensity: [0, 0], winFrequency: [2, 0], chosenHead: nil, agreement: 0)
        }
        check(.invalidStatistic(field: "calibration.layers[1].mean_sink_count[1]", value: -.infinity)) {
            $0.calibration!.layers[1] = .init(layer: 2, meanSinkCount: [0, -.infinity], sinkDensity: [0, 0], winFrequency: [0, 0], chosenHead: nil, agreement: 0)
        }
        // Only the writer can see an empty (non-nil) target list; on the wire it means all heads.
        var empty = ManifestSamples.full()
        empty.patches[0].targetHeads = []
        #expect(throws: ManifestProblem.emptyTargetHeads(layer: 2)) { try empty.validate() }
    }

    @Test("problems name the field and a fix")
    func messages() {
        let error = CheckpointError(path: "b/manifest.pb", problem: ManifestProblem.staticPatchWithoutHead(layer: 4))
        #expect(error.description == "b/manifest.pb: patches: the static patch of layer 4 has no head; give the static patch its head, or make it dynamic")
        #expect(ManifestProblem.invalidDigest(field: "weight_files[0].sha256", value: "x").message.contains("weight_files[0].sha256"))
        #expect(ManifestProblem.unsupportedSchemaVersion(found: 2, supported: 1).fix != nil)
    }

    @Test("write and read a bundle's manifest.pb")
    func files() throws {
        let folder = TemporaryDirectory()
        let manifest = ManifestSamples.full()
        try manifest.write(to: folder.path, overwrite: false)
        #expect(folder.contents == ["manifest.pb"])
        #expect(try EAHManifest.read(path: folder.path) == manifest)
        #expect(try EAHManifest.read(path: folder.file("manifest.pb")) == manifest)

        // An existing manifest is replaced only when asked.
        let error = #expect(throws: CheckpointError.self) { try manifest.write(to: folder.path, overwrite: false) }
        #expect(error?.problem as? FileProblem == .outputExists)
        var changed = manifest
        changed.toolVersion = "eah-convert 0.2.0"
        try changed.write(to: folder.file("manifest.pb"), overwrite: true)
        #expect(try EAHManifest.read(path: folder.path) == changed)
        #expect(folder.contents == ["manifest.pb"])

        // An invalid manifest is not written.
        var invalid = manifest
        invalid.weightFiles[0].sha256 = "nope"
        let refused = #expect(throws: CheckpointError.self) { try invalid.write(to: folder.file("other.pb"), overwrite: false) }
        #expect(refused?.problem as? ManifestProblem == .invalidDigest(field: "weight_files[0].sha256", value: "nope"))
        #expect(folder.contents == ["manifest.pb"])

        // Reading: missing, empty, corrupt.
        let missing = #expect(throws: CheckpointError.self) { try EAHManifest.read(path: folder.file("absent.pb")) }
        #expect(missing?.problem as? FileProblem == .notFound)
        folder.write("empty.pb", [])
        let empty = #expect(throws: CheckpointError.self) { try EAHManifest.read(path: folder.file("empty.pb")) }
        #expect(empty?.problem as? ManifestProblem == .empty)
        #expect(empty?.path == folder.file("empty.pb"))
        folder.write("junk.pb", [0x0a, 0x80])
        let junk = #expect(throws: CheckpointError.self) { try EAHManifest.read(path: folder.file("junk.pb")) }
        #expect(junk?.problem as? ManifestProblem == .undecodable(byteCount: 2))
    }
}
