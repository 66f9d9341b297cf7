import EAHCore

/// Streams a GGUF v3 file: header up front, then one tensor's bytes at a time, in plan order.
///
/// The output is byte-identical to gguf-py's `GGUFWriter` given the same metadata (in the same
/// order) and tensors: little-endian, dimensions written innermost first, every tensor padded
/// with zeros to the alignment, the last one included. With a non-default alignment and no
/// `general.alignment` entry, a u32 `general.alignment` is appended to the metadata (as
/// gguf-py's `add_custom_alignment` does when called last). The file is written under a
/// temporary name and renamed into place by `finish()`; any error, or dropping the writer
/// unfinished, removes it. Plans GGUF cannot hold are refused up front with usage problems.
public final class GGUFWriter {
    public let path: String
    public let alignment: Int
    private let plans: [TensorPlan]
    private let byteCounts: [Int]
    private var output: AtomicOutputFile?
    /// Tensors completely written.
    private var written = 0
    /// Bytes of `plans[written]` written so far.
    private var writtenInTensor = 0

    /// The order `write(_:)` expects tensors in: the plan order.
    public var writeOrder: [TensorPlan] { plans }

    public init(
        path: String, overwrite: Bool, metadata: [MetadataEntry], tensors: [TensorPlan], alignment: Int = 32
    ) throws(CheckpointError) {
        self.path = path
        self.alignment = alignment
        plans = tensors
        func usage(_ problem: GGUFProblem) -> CheckpointError { CheckpointError(path: path, problem: problem) }

        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= Int(UInt32.max) else {
            throw usage(.plannedAlignmentInvalid(alignment))
        }
        var entries = metadata
        var keys = Set<String>()
        for entry in metadata {
            if let reason = Self.unwritableReason(entry, alignment: alignment) {
                throw usage(.plannedMetadataInvalid(key: entry.key, reason: reason))
            }
            guard keys.insert(entry.key).inserted else {
                throw usage(.plannedMetadataInvalid(key: entry.key, reason: "the key appears more than once"))
            }
        }
        if alignment != GGUFReader.defaultAlignment, !keys.contains("general.alignment") {
            entries.append(MetadataEntry(key: "general.alignment", value: .uint32(UInt32(alignment))))
        }

        var names = Set<String>()
        var counts: [Int] = []
        for plan in tensors {
            let nameBytes = plan.name.utf8.count
            guard nameBytes > 0, nameBytes < GGUFReader.maximumNameBytes else { throw usage(.plannedNameInvalid(plan.name)) }
            guard names.insert(plan.name).inserted else { throw usage(.plannedDuplicateTensor(plan.name)) }
            guard plan.dtype.ggmlTypeID != nil else { throw usage(.plannedTypeNotStorable(tensor: plan.name, type: plan.dtype)) }
            guard plan.shape.count <= 4 else { throw usage(.plannedTooManyDimensions(tensor: plan.name, count: plan.shape.count)) }
            guard (plan.shape.last ?? 1) % plan.dtype.blockElements == 0,
                  let count = plan.byteCount, GGUFReader.padded(count, to: alignment) != nil else {
                throw usage(.plannedShapeInvalid(tensor: plan.name, shape: plan.shape, type: plan.dtype))
            }
            counts.append(count)
        }
        byteCounts = counts

        var header: [UInt8] = []
        Self.append(UInt32(0x4655_4747), to: &header)
        Self.append(UInt32(3), to: &header)
        Self.append(UInt64(tensors.count), to: &header)
        Self.append(UInt64(entries.count), to: &header)
        for entry in entries {
            Self.appendString(entry.key, to: &header)
            Self.append(entry.value.kind.rawValue, to: &header)
            Self.appendValue(entry.value, to: &header)
        }
        var offset = 0
        for (plan, count) in zip(tensors, counts) {
            Self.appendString(plan.name, to: &header)
            Self.append(UInt32(plan.shape.count), to: &header)
            for dimension in plan.shape.reversed() { Self.append(UInt64(dimension), to: &header) }
            Self.append(UInt32(plan.dtype.ggmlTypeID ?? 0), to: &header)
            Self.append(UInt64(offset), to: &header)
            guard let padded = GGUFReader.padded(count, to: alignment),
                  case (let next, false) = offset.addingReportingOverflow(padded) else {
                throw usage(.plannedShapeInvalid(tensor: plan.name, shape: plan.shape, type: plan.dtype))
            }
            offset = next
        }
        header.append(contentsOf: repeatElement(0, count: (GGUFReader.padded(header.count, to: alignment) ?? header.count) - header.count))

        let file = try AtomicOutputFile(path: path, overwrite: overwrite)
        do {
            try file.write(header)
        } catch {
            file.abandon()
            throw error
        }
        output = file
    }

    /// Appends bytes of the current planned tensor, whole or in chunks; a tensor is complete
    /// (and padded to the alignment) once its byte count is reached, and a zero-byte tensor
    /// takes one empty write. Writing past a tensor's size abandons the output.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        guard let file = output else { throw CheckpointError(path: path, problem: GGUFProblem.writerClosed) }
        guard written < plans.count else {
            fail(file)
            throw CheckpointError(path: path, problem: GGUFProblem.writerTooManyTensors(planned: plans.count))
        }
        let expected = byteCounts[written]
        guard bytes.count <= expected - writtenInTensor else {
            fail(file)
            throw CheckpointError(path: path, problem: GGUFProblem.writerWrongByteCount(
                tensor: plans[written].name, expected: expected, actual: writtenInTensor + bytes.count))
        }
        do {
            try file.write(bytes)
            writtenInTensor += bytes.count
            if writtenInTensor == expected {
                try file.writeZeros((GGUFReader.padded(expected, to: alignment) ?? expected) - expected)
                written += 1
                writtenInTensor = 0
            }
        } catch {
            fail(file)
            throw error
        }
    }

    /// Checks every planned tensor was written and renames the file into place.
    public func finish() throws(CheckpointError) {
        guard let file = output else { throw CheckpointError(path: path, problem: GGUFProblem.writerClosed) }
        if written < plans.count, writtenInTensor > 0 {
            fail(file)
            throw CheckpointError(path: path, problem: GGUFProblem.writerWrongByteCount(
                tensor: plans[written].name, expected: byteCounts[written], actual: writtenInTensor))
        }
        guard written == plans.count else {
            fail(file)
            throw CheckpointError(path: path, problem: GGUFProblem.writerMissingTensor(plans[written].name))
        }
        output = nil
        try file.commit()
    }

    private func fail(_ file: AtomicOutputFile) {
        file.abandon()
        output = nil
    }

    /// Why gguf-py's encoding cannot hold `entry`, or nil when it can.
    static func unwritableReason(_ entry: MetadataEntry, alignment: Int) -> String? {
        if entry.key.isEmpty { return "the key is empty" }
        if entry.key == "general.alignment" {
            guard case .uint32(let value) = entry.value else { return "general.alignment must be a uint32" }
            if Int(value) != alignment { return "general.alignment is \(value) but the writer aligns to \(alignment)" }
        }
        func tooLong(_ value: MetadataValue) -> Bool {
            if case .string(let text) = value { return UInt64(text.utf8.count) > GGUFReader.maximumStringLength }
            return false
        }
        if entry.key.utf8.count > 65535 { return "keys are at most 65535 bytes" }
        if tooLong(entry.value) { return "strings are at most 1 GiB" }
        if case .array(let elementKind, let elements) = entry.value {
            if elementKind == .array { return "arrays of arrays cannot be read back by ggml" }
            if elements.contains(where: { $0.kind != elementKind }) { return "array elements must all be \(elementKind)" }
            if UInt64(elements.count) > GGUFReader.maximumArrayCount { return "arrays hold at most 2^30 elements" }
            if elementKind == .string, elements.contains(where: tooLong) { return "strings are at most 1 GiB" }
        }
        return nil
    }

    static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        append(UInt64(text.utf8.count), to: &bytes)
        bytes.append(contentsOf: text.utf8)
    }

    /// The value without its type code; arrays write element type, count, then elements.
    static func appendValue(_ value: MetadataValue, to bytes: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &bytes)
        case .int8(let v): append(v, to: &bytes)
        case .uint16(let v): append(v, to: &bytes)
        case .int16(let v): append(v, to: &bytes)
        case .uint32(let v): append(v, to: &bytes)
        case .int32(let v): append(v, to: &bytes)
        case .float32(let v): append(v.bitPattern, to: &bytes)
        case .bool(let v): bytes.append(v ? 1 : 0)
        case .string(let v): appendString(v, to: &bytes)
        case .uint64(let v): append(v, to: &bytes)
        case .int64(let v): append(v, to: &bytes)
        case .float64(let v): append(v.bitPattern, to: &bytes)
        case .array(let elementKind, let elements):
            append(elementKind.rawValue, to: &bytes)
            append(UInt64(elements.count), to: &bytes)
            for element in elements { appendValue(element, to: &bytes) }
        }
    }
}

extension GGUFWriter: StreamingTensorWriter {}
