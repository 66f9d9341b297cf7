/// A weight matrix of `rows` × `columns` (a Linear layer's [out, in]) kept in its stored type.
///
/// `data` is row-major: `rows` rows of `columns` elements, each row a whole number of blocks
/// of `dtype`. The bytes usually point into a memory-mapped checkpoint; `owner` keeps whatever
/// holds them alive.
public struct WeightMatrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let dtype: DType
    public let data: UnsafeRawBufferPointer
    /// Keeps the memory behind `data` alive (a mapped file, an owned buffer).
    public let owner: AnyObject?

    /// Checks that `data` holds exactly `rows` rows of `columns` elements of `dtype`.
    public init(rows: Int, columns: Int, dtype: DType, data: UnsafeRawBufferPointer, owner: AnyObject?) throws(ConversionError) {
        guard rows >= 0, columns >= 0, let rowBytes = dtype.byteCount(elements: columns) else {
            throw .partialBlock(type: dtype, elements: columns)
        }
        let (expected, overflow) = rowBytes.multipliedReportingOverflow(by: rows)
        guard !overflow, expected == data.count else {
            throw .sizeMismatch(expected: overflow ? Int.max : expected, actual: data.count)
        }
        self.rows = rows
        self.columns = columns
        self.dtype = dtype
        self.data = data
        self.owner = owner
    }

    /// An F32 matrix owning a copy of `values` (row-major, `rows * columns` of them).
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "values must hold rows × columns floats")
        let storage = FloatStorage(values)
        self.rows = rows
        self.columns = columns
        dtype = .f32
        data = UnsafeRawBufferPointer(storage.buffer)
        owner = storage
    }

    /// Bytes of one row.
    public var rowBytes: Int { dtype.byteCount(elements: columns) ?? 0 }

    /// The raw bytes of row `index`.
    public func rowData(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: data[(index * rowBytes)..<((index + 1) * rowBytes)])
    }

    /// Decodes row `index` into `destination` (`columns` floats), e.g. an embedding lookup.
    public func dequantizeRow(_ index: Int, into destination: UnsafeMutableBufferPointer<Float>) throws(ConversionError) {
        try Dequantizer.toFloat32(rowData(index), type: dtype, into: destination)
    }

    /// The matrix decoded to F32 (a copy), for types without a product kernel.
    public func dequantized() throws(ConversionError) -> WeightMatrix {
        var values = [Float](repeating: 0, count: rows * columns)
        let result: Result<Void, ConversionError> = values.withUnsafeMutableBufferPointer { buffer in
            Result { () throws(ConversionError) in try Dequantizer.toFloat32(data, type: dtype, into: buffer) }
        }
        try result.get()
        return WeightMatrix(rows: rows, columns: columns, values: values)
    }
}

/// An owned, stable buffer of floats that `WeightMatrix` can point into.
final class FloatStorage: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Float>

    init(_ values: [Float]) {
        buffer = .allocate(capacity: values.count)
        _ = buffer.initialize(from: values)
    }

    deinit {
        buffer.deallocate()
    }
}
