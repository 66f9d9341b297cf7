import EAHCore

/// Reads `torch.save` checkpoints: the zip archive (torch ≥ 1.6, `.pytorch`) and the legacy
/// pickle sequence (0.4–1.5, `.pytorchLegacy`), sniffed from the bytes.
///
/// The pickle is run by the restricted `PickleMachine`; nothing is executed, and a file that
/// references any non-allowlisted global is refused. The state dict is the top-level dict of
/// tensors, or the one under `state_dict`, `model_state_dict`, `model` or `module`; otherwise
/// nested dicts of tensors are flattened with dotted names. Every view is validated against its
/// storage at open time. A contiguous tensor has `view == nil` and `byteRange` = its own bytes,
/// and `bytes(of:)` is zero-copy (stored, little-endian archives). A non-contiguous tensor has
/// `byteRange` = its storage and a `StridedView`; `bytes(of:)` returns a dense C-order copy.
/// Tensors sharing a storage share its bytes. Big-endian archives are byte-swapped on read.
/// DEFLATE-compressed storages (not written by torch) always carry a view and `byteRange` is
/// the compressed record. CRC-32 of a zip record is checked the first time its bytes are read.
public final class PyTorchReader: CheckpointReader {
    public let format: CheckpointFormat
    public let path: String
    public let tensors: [TensorInfo]
    /// torch checkpoints carry no metadata this reader exposes (`_metadata` is ignored).
    public let metadata: [MetadataEntry] = []
    private let file: MappedFile
    private let archive: ZipArchive?
    private let placements: [String: Placement]

    /// Where one tensor's elements live.
    private struct Placement: Sendable {
        /// The zip record holding the storage (nil for legacy files).
        let record: ZipEntry?
        /// The storage's bytes in the file (for deflated records: the compressed range).
        let storage: Range<Int>
        let elementSize: Int
        /// Bytes per byte-swapped unit, 0 when the file's byte order is the host's.
        let swapUnit: Int
        let shape: [Int]
        let view: StridedView
        let contiguous: Bool
        /// Whether the view is dense in its storage (contiguous, were the storage not deflated).
        let dense: Bool
    }

    /// The parsed pieces a format parser hands to `init`.
    private typealias Parsed = (format: CheckpointFormat, archive: ZipArchive?, tensors: [TensorInfo], placements: [String: Placement])

    public init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        path = file.path
        let parsed: Parsed
        do {
            parsed = try Self.parse(file)
        } catch {
            throw error.attributed(to: file.path)
        }
        format = parsed.format
        archive = parsed.archive
        tensors = parsed.tensors
        placements = parsed.placements
    }

    public convenience init(path: String) throws(CheckpointError) {
        try self.init(file: try MappedFile(path: path))
    }

    public func bytes(of tensor: TensorInfo) throws(CheckpointError) -> TensorBytes {
        do {
            return try read(tensor)
        } catch {
            throw error.attributed(to: path)
        }
    }

    private func read(_ tensor: TensorInfo) throws -> TensorBytes {
        guard tensor.file == path, let placement = placements[tensor.name] else { throw TorchProblem.unknownTensor(tensor.name) }
        var inflated: MappedFile?
        if let record = placement.record, let archive {
            if record.isStored {
                try archive.verify(record)
            } else {
                inflated = try ZipArchive.inflateToMappedFile(file[record.dataRange], entry: record, path: path)
            }
        }
        if inflated == nil, placement.contiguous, placement.swapUnit == 0 {
            return TensorBytes(file: file, range: tensor.byteRange)
        }
        if let inflated, placement.dense, placement.swapUnit == 0 {
            // Zero-copy from the inflated file: memory stays flat however large the entry.
            let start = placement.view.offset * placement.elementSize
            let count = (DType.elementCount(placement.shape) ?? 0) * placement.elementSize
            return TensorBytes(file: inflated, range: start..<start + count)
        }
        let storageBytes = inflated?.count ?? placement.storage.count
        let (bound, overflow) = storageBytes.multipliedReportingOverflow(by: 64)
        if tensor.byteCount > 1 << 30, overflow || tensor.byteCount > bound {
            throw TorchProblem.viewTooLarge(tensor: tensor.name, bytes: tensor.byteCount)
        }
        var dense: [UInt8]
        if let inflated {
            dense = withExtendedLifetime(inflated) { Self.gather(inflated.bytes, placement) }
        } else {
            dense = Self.gather(file[placement.storage], placement)
        }
        if placement.swapUnit > 1 { Self.swap(&dense, unit: placement.swapUnit) }
        return TensorBytes(owned: dense)
    }

    /// Copies the elements of a validated strided view into dense C order.
    private static func gather(_ storage: UnsafeRawBufferPointer, _ placement: Placement) -> [UInt8] {
        let shape = placement.shape, strides = placement.view.strides, size = placement.elementSize
        let count = (DType.elementCount(shape) ?? 0) * size
        guard count > 0, let source = storage.baseAddress else { return [] }
        var output = [UInt8](repeating: 0, count: count)
        output.withUnsafeMutableBytes { out in
            guard let target = out.baseAddress else { return }
            let rank = shape.count
            // The innermost dimension is copied as one run when its stride is 1.
            let innerCount = rank == 0 ? 1 : shape[rank - 1]
            let innerStride = rank == 0 ? 0 : strides[rank - 1]
            var index = [Int](repeating: 0, count: max(rank - 1, 0))
            var written = 0
            while written < count {
                var element = placement.view.offset
                for dimension in 0..<index.count { element += index[dimension] * strides[dimension] }
                if innerStride == 1 {
                    let bytes = innerCount * size
                    let start = element * size
                    if start >= 0, start + bytes <= storage.count {
                        (target + written).copyMemory(from: source + start, byteCount: bytes)
                    }
                    written += bytes
                } else {
                    for inner in 0..<innerCount {
                        let start = (element + inner * innerStride) * size
                        if start >= 0, start + size <= storage.count {
                            (target + written).copyMemory(from: source + start, byteCount: size)
                        }
                        written += size
                    }
                }
                var dimension = index.count - 1
                while dimension >= 0 {
                    index[dimension] += 1
                    if index[dimension] < shape[dimension] { break }
                    index[dimension] = 0
                    dimension -= 1
                }
                if dimension < 0 { break }
            }
        }
        return output
    }

    private static func swap(_ bytes: inout [UInt8], unit: Int) {
        var start = 0
        while start + unit <= bytes.count {
            bytes[start..<start + unit].reverse()
            start += unit
        }
    }

    // MARK: Parsing

    private static func parse(_ file: MappedFile) throws -> Parsed {
        let bytes = file.bytes
        func starts(with prefix: [UInt8]) -> Bool { bytes.count >= prefix.count && bytes.prefix(prefix.count).elementsEqual(prefix) }
        if starts(with: Array("PK\u{03}\u{04}".utf8)) { return try parseZip(file) }
        if starts(with: Array("PYTORCH1".utf8)) { throw TorchProblem.previewFormat }
        if bytes.count >= 262, bytes[257..<262].elementsEqual(Array("ustar".utf8)) { throw TorchProblem.tarFormat }
        if starts(with: [0x80]) { return try parseLegacy(file) }
        throw TorchProblem.notPyTorch
    }

    private static func parseZip(_ file: MappedFile) throws -> Parsed {
        let archive = try ZipArchive(file: file)
        guard let first = archive.entries.first else { throw TorchProblem.missingRecord("data.pkl") }
        guard let slash = first.name.firstIndex(of: "/"), slash != first.name.startIndex else {
            throw TorchProblem.noArchivePrefix(first.name)
        }
        let prefix = String(first.name[...slash])
        for entry in archive.entries where !entry.name.hasPrefix(prefix) { throw TorchProblem.mixedArchivePrefixes(entry.name) }
        if archive.entry(named: prefix + "constants.pkl") != nil { throw TorchProblem.torchScriptArchive }
        guard let pickle = archive.entry(named: prefix + "data.pkl") else { throw TorchProblem.missingRecord("data.pkl") }

        func text(_ entry: ZipEntry) throws -> String {
            guard entry.uncompressedSize <= 64 else { return "<\(entry.uncompressedSize) bytes>" }
            return String(decoding: try archive.uncheckedContents(of: entry).array, as: UTF8.self)
        }
        guard let versionEntry = archive.entry(named: prefix + "version") ?? archive.entry(named: prefix + ".data/version") else {
            throw TorchProblem.missingRecord("version")
        }
        let versionText = try text(versionEntry)
        let trimmed = String(versionText.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
        guard let version = Int(trimmed), (1...10).contains(version) else { throw TorchProblem.unsupportedVersion(trimmed) }

        var bigEndian = false
        if let order = archive.entry(named: prefix + "byteorder") {
            switch try text(order) {
            case "little": bigEndian = false
            case "big": bigEndian = true
            case let other: throw TorchProblem.invalidByteOrder(other)
            }
        }

        let root = try archive.uncheckedContents(of: pickle).withUnsafeBytes { raw throws(PickleProblem) in
            var machine = PickleMachine(bytes: raw)
            return try machine.load()
        }
        let found = try stateDict(in: root)
        var tensors: [TensorInfo] = []
        var placements: [String: Placement] = [:]
        var storageTypes: [String: DType] = [:]
        for (name, tensor) in found {
            guard let record = archive.entry(named: prefix + "data/" + tensor.storage.key) else {
                throw TorchProblem.missingStorage(key: tensor.storage.key)
            }
            let (dtype, storageSize) = try types(of: tensor)
            if let earlier = storageTypes.updateValue(dtype, forKey: tensor.storage.key), earlier != dtype {
                throw TorchProblem.storageTypeConflict(key: tensor.storage.key)
            }
            let (expected, overflow) = tensor.storage.elementCount.multipliedReportingOverflow(by: storageSize)
            guard !overflow, expected == record.uncompressedSize else {
                throw TorchProblem.recordSizeMismatch(key: tensor.storage.key, expected: overflow ? Int.max : expected, actual: record.uncompressedSize)
            }
            let (info, placement) = try place(
                name: name, tensor: tensor, dtype: dtype, storage: record.dataRange, storageBytes: record.uncompressedSize,
                file: file.path, record: record, bigEndian: bigEndian, forceView: !record.isStored)
            guard placements.updateValue(placement, forKey: name) == nil else { throw TorchProblem.duplicateTensor(name) }
            tensors.append(info)
        }
        return (.pytorch, archive, tensors, placements)
    }

    private static func parseLegacy(_ file: MappedFile) throws -> Parsed {
        var machine = PickleMachine(bytes: file.bytes)
        let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
        guard let first = try? machine.load(), first == .bigInt(magic) else { throw TorchProblem.badLegacyMagic }
        guard let protocolVersion = try? machine.load(), protocolVersion == .int(1001) else { throw TorchProblem.badLegacyProtocol }
        let systemInfo = try machine.load()
        guard case .dict = systemInfo else { throw TorchProblem.badLegacySystemInfo }
        var bigEndian = false
        if let little = systemInfo["little_endian"] {
            guard case .bool(let flag) = little else { throw TorchProblem.badLegacySystemInfo }
            bigEndian = !flag
        }
        let storagesBefore = machine.storages.count
        let root = try machine.load()
        let referenced = machine.storages[storagesBefore...]
        guard case .list(let keyValues) = try machine.load() else { throw TorchProblem.badLegacySystemInfo }

        // Raw section: per key an int64 element count, then the elements.
        var elementSizes: [String: (Int, Int)] = [:]  // key → (numel, element size)
        for storage in referenced {
            guard let size = storageElementSize(storage.typeName) else { throw TorchProblem.unknownStorageType(storage.typeName) }
            if let earlier = elementSizes[storage.key], earlier.1 != size { throw TorchProblem.storageTypeConflict(key: storage.key) }
            elementSizes[storage.key] = (storage.elementCount, size)
        }
        var ranges: [String: Range<Int>] = [:]
        var reader = ByteReader(file.bytes, offset: machine.offset)
        for value in keyValues {
            guard case .string(let key) = value else { throw TorchProblem.badLegacySystemInfo }
            guard let (numel, size) = elementSizes[key] else { throw TorchProblem.missingStorage(key: key) }
            let rawCount = try reader.read(UInt64.self, for: "storage \(key) element count")
            let count = Int(truncatingIfNeeded: bigEndian ? rawCount.byteSwapped : rawCount)
            guard count == numel else { throw TorchProblem.legacyStorageSizeMismatch(key: key, expected: numel, actual: count) }
            let (length, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow else { throw TorchProblem.legacyStorageSizeMismatch(key: key, expected: numel, actual: count) }
            let start = reader.offset
            try reader.skip(length, for: "storage \(key)")
            ranges[key] = start..<reader.offset
        }

        let found = try stateDict(in: root)
        var tensors: [TensorInfo] = []
        var placements: [String: Placement] = [:]
        for (name, tensor) in found {
            guard var range = ranges[tensor.storage.key] else { throw TorchProblem.missingStorage(key: tensor.storage.key) }
            let (dtype, storageSize) = try types(of: tensor)
            if let view = tensor.storage.view {
                // A legacy storage view: elements [offset, offset + count) of the root storage.
                let (start, o1) = view.offset.multipliedReportingOverflow(by: storageSize)
                let (length, o2) = view.count.multipliedReportingOverflow(by: storageSize)
                let (end, o3) = start.addingReportingOverflow(length)
                guard !o1, !o2, !o3, end <= range.count else { throw TorchProblem.viewOutOfBounds(tensor: name) }
                range = range.lowerBound + start..<range.lowerBound + end
            }
            let (info, placement) = try place(
                name: name, tensor: tensor, dtype: dtype, storage: range, storageBytes: range.count,
                file: file.path, record: nil, bigEndian: bigEndian, forceView: false)
            guard placements.updateValue(placement, forKey: name) == nil else { throw TorchProblem.duplicateTensor(name) }
            tensors.append(info)
        }
        return (.pytorchLegacy, nil, tensors, placements)
    }

    /// Validates a tensor's view against its storage and decides zero-copy or strided.
    private static func place(
        name: String, tensor: PickleTensor, dtype: DType, storage: Range<Int>, storageBytes: Int, file: String,
        record: ZipEntry?, bigEndian: Bool, forceView: Bool
    ) throws -> (TensorInfo, Placement) {
        let size = dtype.byteCount(elements: 1) ?? 1
        guard tensor.size.count == tensor.stride.count else {
            throw TorchProblem.invalidView(tensor: name, detail: "\(tensor.size.count) sizes but \(tensor.stride.count) strides")
        }
        guard tensor.storageOffset >= 0, tensor.size.allSatisfy({ $0 >= 0 }), tensor.stride.allSatisfy({ $0 >= 0 }) else {
            throw TorchProblem.invalidView(tensor: name, detail: "negative size, stride or offset")
        }
        guard let count = DType.elementCount(tensor.size), dtype.byteCount(elements: count) != nil else {
            throw TorchProblem.invalidView(tensor: name, detail: "the element count overflows")
        }
        guard storageBytes % size == 0 else {
            throw TorchProblem.recordSizeMismatch(key: tensor.storage.key, expected: storageBytes / size * size, actual: storageBytes)
        }
        let storageElements = storageBytes / size
        var contiguous = true
        if count > 0 {
            var last = tensor.storageOffset
            var expectedStride = 1
            for (extent, stride) in zip(tensor.size, tensor.stride).reversed() {
                let (step, o1) = (extent - 1).multipliedReportingOverflow(by: stride)
                let (sum, o2) = last.addingReportingOverflow(step)
                guard !o1, !o2 else { throw TorchProblem.viewOutOfBounds(tensor: name) }
                last = sum
                if extent != 1, stride != expectedStride { contiguous = false }
                expectedStride = expectedStride &* extent
            }
            guard last < storageElements else { throw TorchProblem.viewOutOfBounds(tensor: name) }
        }
        let swapUnit = bigEndian && size > 1 ? (dtype == .c64 || dtype == .c128 ? size / 2 : size) : 0
        let view = StridedView(offset: count > 0 ? tensor.storageOffset : 0, strides: tensor.stride)
        let placement = Placement(
            record: record, storage: storage, elementSize: size, swapUnit: swapUnit, shape: tensor.size, view: view,
            contiguous: contiguous && !forceView, dense: contiguous)
        let info: TensorInfo
        if placement.contiguous {
            let start = storage.lowerBound + view.offset * size
            info = TensorInfo(name: name, dtype: dtype, shape: tensor.size, file: file, byteRange: start..<start + count * size)
        } else {
            info = TensorInfo(name: name, dtype: dtype, shape: tensor.size, file: file, byteRange: storage, view: view)
        }
        return (info, placement)
    }

    /// The tensor's dtype and the byte size of one element of its storage type.
    private static func types(of tensor: PickleTensor) throws -> (DType, Int) {
        guard let storageSize = storageElementSize(tensor.storage.typeName) else {
            throw TorchProblem.unknownStorageType(tensor.storage.typeName)
        }
        if let name = tensor.dtypeName {
            guard let dtype = dtypes[name] else { throw TorchProblem.unsupportedDType(name) }
            return (dtype, storageSize)
        }
        guard let dtype = storageDTypes[tensor.storage.typeName] else { throw TorchProblem.unknownStorageType(tensor.storage.typeName) }
        return (dtype, storageSize)
    }

    private static func storageElementSize(_ typeName: String) -> Int? {
        storageDTypes[typeName].flatMap { $0.byteCount(elements: 1) }
    }

    private static let storageDTypes: [String: DType] = [
        "DoubleStorage": .f64, "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8, "ByteStorage": .u8,
        "BoolStorage": .bool, "ComplexFloatStorage": .c64, "ComplexDoubleStorage": .c128, "UntypedStorage": .u8,
    ]

    private static let dtypes: [String: DType] = [
        "float32": .f32, "float": .f32, "float64": .f64, "double": .f64, "float16": .f16, "half": .f16,
        "bfloat16": .bf16, "int64": .i64, "long": .i64, "int32": .i32, "int": .i32, "int16": .i16, "short": .i16,
        "int8": .i8, "uint8": .u8, "bool": .bool, "complex64": .c64, "cfloat": .c64, "complex128": .c128,
        "cdouble": .c128, "uint16": .u16, "uint32": .u32, "uint64": .u64, "float8_e4m3fn": .f8E4M3,
        "float8_e5m2": .f8E5M2, "float8_e4m3fnuz": .f8E4M3FNUZ, "float8_e5m2fnuz": .f8E5M2FNUZ,
        "float8_e8m0fnu": .f8E8M0,
    ]

    // MARK: Finding the state dict

    private static let stateDictKeys = ["state_dict", "model_state_dict", "model", "module"]

    /// The tensors of the state dict inside `root`, in order, with their names.
    static func stateDict(in root: PickleValue) throws -> [(String, PickleTensor)] {
        guard let found = search(root) else { throw TorchProblem.noStateDict }
        return found
    }

    private static func search(_ value: PickleValue) -> [(String, PickleTensor)]? {
        guard case .dict(let entries) = value else { return nil }
        if entries.isEmpty { return [] }
        var direct: [(String, PickleTensor)] = []
        for entry in entries {
            guard case .string(let key) = entry.key, case .tensor(let tensor) = entry.value else { break }
            direct.append((key, tensor))
        }
        if direct.count == entries.count { return direct }
        for key in stateDictKeys {
            if let inner = value[key], let found = search(inner), !found.isEmpty { return found }
        }
        var flat: [(String, PickleTensor)] = []
        flatten(value, prefix: "", into: &flat)
        return flat.isEmpty ? nil : flat
    }

    private static func flatten(_ value: PickleValue, prefix: String, into output: inout [(String, PickleTensor)]) {
        guard case .dict(let entries) = value else { return }
        for entry in entries {
            guard case .string(let key) = entry.key else { continue }
            switch entry.value {
            case .tensor(let tensor): output.append((prefix + key, tensor))
            case .dict: flatten(entry.value, prefix: prefix + key + ".", into: &output)
            default: continue
            }
        }
    }
}
