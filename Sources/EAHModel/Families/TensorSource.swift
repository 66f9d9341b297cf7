import EAHCheckpoint
import EAHCore

/// Reads a checkpoint's tensors by name with their expected shapes: matrices zero-copy where a
/// kernel reads the stored type, everything else decoded to F32. Shared by family loaders that
/// name tensors directly.
struct TensorSource {
    let reader: any CheckpointReader
    private let byName: [String: TensorInfo]

    init(_ reader: any CheckpointReader) {
        self.reader = reader
        byName = Dictionary(reader.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func has(_ name: String) -> Bool { byName[name] != nil }

    func info(_ name: String, shape: [Int]) throws(CheckpointError) -> TensorInfo {
        guard let info = byName[name] else { throw CheckpointError(path: reader.path, problem: ModelProblem.missingTensors([name])) }
        guard info.shape == shape else {
            throw CheckpointError(path: reader.path, problem: ModelProblem.wrongShape(tensor: name, expected: shape, actual: info.shape))
        }
        return info
    }

    /// A `rows × columns` matrix stored with `shape` (default `[rows, columns]`).
    func matrix(_ name: String, rows: Int, columns: Int, shape: [Int]? = nil) throws(CheckpointError) -> WeightMatrix {
        try Self.matrix(try info(name, shape: shape ?? [rows, columns]), of: reader, rows: rows, columns: columns)
    }

    /// A tensor of `shape` decoded to F32.
    func vector(_ name: String, shape: [Int]) throws(CheckpointError) -> [Float] {
        try Self.decode(try info(name, shape: shape), of: reader)
    }

    /// The tensor `info` of `reader` as a `rows × columns` matrix: zero-copy (or one copy of its
    /// bytes) where a kernel reads the stored type, decoded to F32 otherwise.
    static func matrix(_ info: TensorInfo, of reader: any CheckpointReader, rows: Int, columns: Int) throws(CheckpointError) -> WeightMatrix {
        guard MatrixMultiply.hasKernel(for: info.dtype) else {
            return WeightMatrix(rows: rows, columns: columns, values: try decode(info, of: reader))
        }
        let bytes = try reader.bytes(of: info)
        let owner: AnyObject
        let raw: UnsafeRawBufferPointer
        if bytes.isZeroCopy {
            owner = reader
            raw = bytes.withUnsafeBytes { $0 }
        } else {
            let storage = OwnedBytes(count: bytes.count)
            bytes.withUnsafeBytes { source in storage.buffer.copyMemory(from: source) }
            owner = storage
            raw = storage.bytes(bytes.count)
        }
        do throws(ConversionError) {
            return try WeightMatrix(rows: rows, columns: columns, dtype: info.dtype, data: raw, owner: owner)
        } catch { throw undecodable(info, of: reader, error) }
    }

    /// The tensor `info` of `reader` decoded to F32.
    static func decode(_ info: TensorInfo, of reader: any CheckpointReader) throws(CheckpointError) -> [Float] {
        let bytes = try reader.bytes(of: info)
        var values = [Float](repeating: 0, count: info.elementCount)
        let result: Result<Void, ConversionError> = bytes.withUnsafeBytes { source in
            values.withUnsafeMutableBufferPointer { destination in
                Result { () throws(ConversionError) in try Dequantizer.toFloat32(source, type: info.dtype, into: destination) }
            }
        }
        do throws(ConversionError) { try result.get() } catch { throw undecodable(info, of: reader, error) }
        return values
    }

    private static func undecodable(_ info: TensorInfo, of reader: any CheckpointReader, _ error: ConversionError) -> CheckpointError {
        CheckpointError(path: reader.path, problem: ModelProblem.unsupportedLayout("tensor '\(TerminalText.escape(info.name))' (\(info.dtype.name)) cannot be decoded: \(error)"))
    }

    /// A Linear layer `name.weight` (`rows × columns`) with `name.bias` when `bias`.
    func linear(_ name: String, rows: Int, columns: Int, bias: Bool) throws(CheckpointError) -> LinearWeights {
        LinearWeights(weight: try matrix(name + ".weight", rows: rows, columns: columns),
                      bias: bias ? try vector(name + ".bias", shape: [rows]) : nil)
    }

    /// A norm `name.weight` of `width`, with `name.bias` when `bias` (LayerNorm).
    func norm(_ name: String, width: Int, bias: Bool) throws(CheckpointError) -> NormWeights {
        NormWeights(weight: try vector(name + ".weight", shape: [width]), bias: bias ? try vector(name + ".bias", shape: [width]) : nil)
    }
}
