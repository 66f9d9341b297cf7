import EAHCore

/// Converts a checkpoint to safetensors or GGUF, streaming one tensor chunk at a time.
///
/// Names are kept. Tensors already in the target type are copied straight from the source map
/// (and their pages released afterwards), so memory stays flat whatever the model size; others
/// are decoded to F32 and re-encoded in chunks of about a million elements.
public enum Converter {
    /// Elements converted per chunk (4 MiB of F32).
    static let chunkElements = 1 << 20
    /// Bytes copied per slice when a tensor passes through unchanged.
    static let copySliceBytes = 16 << 20

    /// The output tensors, in the source's order, with the type each will be written in.
    ///
    /// Integer and bool tensors keep their type. For GGUF, as llama.cpp's converters do,
    /// tensors of one dimension stay F32 under f16/bf16/q8_0/q4_0, and a matrix whose rows
    /// are not whole 32-element blocks falls back from q8_0/q4_0 to F16.
    public static func plan(_ reader: any CheckpointReader, options: ConversionOptions) throws(CheckpointError) -> [TensorPlan] {
        if options.format == .safetensors, options.dtype == .q8_0 || options.dtype == .q4_0 {
            throw CheckpointError(path: reader.path, problem: ConversionProblem.dtypeNeedsGGUF(options.dtype))
        }
        var plans: [TensorPlan] = []
        plans.reserveCapacity(reader.tensors.count)
        for tensor in reader.tensors {
            let target = targetType(of: tensor, options: options)
            guard isStorable(target, in: options.format) else {
                throw CheckpointError(path: tensor.file, problem: ConversionProblem.unstorableType(tensor: tensor.name, dtype: tensor.dtype, format: options.format))
            }
            plans.append(TensorPlan(name: tensor.name, dtype: target, shape: tensor.shape))
        }
        return plans
    }

    /// Rewrites a tensor's bytes, already in its output type, before they are written.
    public typealias Rewrite = @Sendable (inout [UInt8]) -> Void

    /// Writes `reader`'s tensors to `output` as `options` say; `progress` receives the source
    /// bytes done and the total after each chunk.
    ///
    /// `only` restricts the output to those tensor names (a shard); `rewrites` changes the named
    /// tensors' output bytes (held in memory whole, one tensor at a time).
    @discardableResult
    public static func convert(
        _ reader: any CheckpointReader, to output: String, options: ConversionOptions, only: Set<String>? = nil,
        rewrites: [String: Rewrite] = [:], progress: ((Int, Int) -> Void)? = nil
    ) throws(CheckpointError) -> ConversionSummary {
        if sameFile(reader.path, output) { throw CheckpointError(path: output, problem: ConversionProblem.outputIsInput) }
        var plans = try plan(reader, options: options)
        if let only { plans = plans.filter { only.contains($0.name) } }
        let sources = Dictionary(reader.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let metadata = options.format == .gguf ? ggufMetadata(from: reader, plans: plans, dtype: options.dtype) : []
        let tensors = plans.compactMap { plan in
            sources[plan.name].map { OutputTensor(plan: plan, source: $0, reader: reader, rewrite: rewrites[plan.name]) }
        }
        return try write(tensors, to: output, format: options.format, metadata: metadata, overwrite: options.overwrite, progress: progress)
    }

    /// One tensor of an output: what is written (name, type, shape) and where it comes from.
    public struct OutputTensor {
        public var plan: TensorPlan
        public var source: TensorInfo
        public var reader: any CheckpointReader
        /// Changes the bytes (already in `plan.dtype`) before they are written.
        public var rewrite: Rewrite?

        public init(plan: TensorPlan, source: TensorInfo, reader: any CheckpointReader, rewrite: Rewrite? = nil) {
            self.plan = plan
            self.source = source
            self.reader = reader
            self.rewrite = rewrite
        }
    }

    /// Writes `tensors` (names and shapes as planned, bytes from their sources, transcoded where
    /// the types differ) with `metadata` (GGUF only), streaming as `convert` does.
    @discardableResult
    public static func write(
        _ tensors: [OutputTensor], to output: String, format: ConversionOptions.OutputFormat, metadata: [MetadataEntry],
        overwrite: Bool, progress: ((Int, Int) -> Void)? = nil
    ) throws(CheckpointError) -> ConversionSummary {
        for input in Set(tensors.flatMap { [$0.source.file, $0.reader.path] }) where sameFile(input, output) {
            throw CheckpointError(path: output, problem: ConversionProblem.outputIsInput)
        }
        let plans = tensors.map(\.plan)
        let writer: any StreamingTensorWriter
        switch format {
        case .safetensors:
            writer = try SafetensorsWriter(path: output, overwrite: overwrite, tensors: plans)
        case .gguf:
            writer = try GGUFWriter(path: output, overwrite: overwrite, metadata: metadata, tensors: plans)
        }
        let byName = Dictionary(tensors.map { ($0.plan.name, $0) }, uniquingKeysWith: { first, _ in first })
        let total = writer.writeOrder.reduce(0) { $0 + (byName[$1.name]?.source.byteCount ?? 0) }
        var done = 0
        for plan in writer.writeOrder {
            guard let tensor = byName[plan.name] else { continue }
            let source = tensor.source
            let bytes = try tensor.reader.bytes(of: source)
            if let rewrite = tensor.rewrite {
                let collector = CollectingWriter(plan: plan)
                if plan.dtype == source.dtype {
                    try copy(bytes, to: collector) { _ in }
                } else {
                    try transcode(source, bytes: bytes, to: plan.dtype, writer: collector) { _ in }
                }
                rewrite(&collector.bytes)
                try TensorBytes(owned: collector.bytes).withUnsafeBytes { raw throws(CheckpointError) in try writer.write(raw) }
            } else if plan.dtype == source.dtype {
                try copy(bytes, to: writer) { progress?(done + $0, total) }
            } else {
                try transcode(source, bytes: bytes, to: plan.dtype, writer: writer) { chunk in
                    progress?(done + chunk, total)
                }
            }
            bytes.discard()
            done += source.byteCount
            progress?(done, total)
        }
        try writer.finish()
        return ConversionSummary(outputPath: output, tensorCount: plans.count, bytesRead: total, bytesWritten: fileSize(output))
    }

    /// Copies a tensor's bytes a slice at a time, releasing each slice's pages once written so
    /// the resident set stays at one slice however large the tensor.
    private static func copy(_ bytes: TensorBytes, to writer: any StreamingTensorWriter, progress: (Int) -> Void) throws(CheckpointError) {
        try bytes.withUnsafeBytes { raw throws(CheckpointError) in
            if raw.isEmpty { try writer.write(raw) }
            var start = 0
            while start < raw.count {
                let end = min(raw.count, start + copySliceBytes)
                try writer.write(UnsafeRawBufferPointer(rebasing: raw[start..<end]))
                bytes.discard(start..<end)
                start = end
                progress(start)
            }
        }
    }

    /// Gathers one tensor's output bytes in memory.
    private final class CollectingWriter: StreamingTensorWriter {
        let writeOrder: [TensorPlan]
        var bytes: [UInt8] = []

        init(plan: TensorPlan) {
            writeOrder = [plan]
        }

        func write(_ chunk: UnsafeRawBufferPointer) throws(CheckpointError) {
            bytes.append(contentsOf: chunk)
        }

        func finish() throws(CheckpointError) {}
    }

    /// The type `plan` gives `tensor` under `options`.
    public static func targetType(of tensor: TensorInfo, options: ConversionOptions) -> DType {
        let source = tensor.dtype
        guard source.isFloatingPoint else { return source }
        let isGGUF = options.format == .gguf
        let isVector = tensor.shape.count <= 1
        switch options.dtype {
        case .keep: return isStorable(source, in: options.format) ? source : .f32
        case .f32: return .f32
        case .f16: return isGGUF && isVector ? .f32 : .f16
        case .bf16: return isGGUF && isVector ? .f32 : .bf16
        case .q8_0, .q4_0:
            if isVector { return .f32 }
            guard let rowLength = tensor.shape.last, rowLength % 32 == 0 else { return .f16 }
            return options.dtype == .q8_0 ? .q8_0 : .q4_0
        }
    }

    static func isStorable(_ dtype: DType, in format: ConversionOptions.OutputFormat) -> Bool {
        switch format {
        case .safetensors: dtype.isSafetensorsType
        case .gguf: dtype.ggmlTypeID != nil
        }
    }

    /// Decodes `source` to F32 and encodes it as `target`, a chunk of whole rows at a time.
    private static func transcode(
        _ source: TensorInfo, bytes: TensorBytes, to target: DType, writer: any StreamingTensorWriter,
        progress: (Int) -> Void
    ) throws(CheckpointError) {
        let rowLength = max(source.shape.last ?? 1, 1)
        let rows = source.elementCount / rowLength
        guard source.elementCount > 0 else { return }
        let rowsPerChunk = max(1, chunkElements / rowLength)
        guard let sourceRowBytes = source.dtype.byteCount(elements: rowLength),
              let targetRowBytes = target.byteCount(elements: rowLength)
        else {
            throw CheckpointError(path: source.file, problem: ConversionProblem.cannotDecode(tensor: source.name, dtype: source.dtype))
        }
        let chunkRows = min(rowsPerChunk, rows)
        let floats = UnsafeMutableBufferPointer<Float>.allocate(capacity: chunkRows * rowLength)
        let encoded = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkRows * targetRowBytes, alignment: 16)
        defer {
            floats.deallocate()
            encoded.deallocate()
        }
        try bytes.withUnsafeBytes { raw throws(CheckpointError) in
            var row = 0
            while row < rows {
                let count = min(chunkRows, rows - row)
                let input = UnsafeRawBufferPointer(rebasing: raw[(row * sourceRowBytes)..<((row + count) * sourceRowBytes)])
                let decoded = UnsafeMutableBufferPointer(rebasing: floats[0..<(count * rowLength)])
                let output = UnsafeMutableRawBufferPointer(rebasing: encoded[0..<(count * targetRowBytes)])
                do throws(ConversionError) {
                    try Dequantizer.toFloat32(input, type: source.dtype, into: decoded)
                    try Quantizer.fromFloat32(UnsafeBufferPointer(decoded), to: target, into: output)
                } catch {
                    if case .unsupported = error {
                        throw CheckpointError(path: source.file, problem: ConversionProblem.cannotDecode(tensor: source.name, dtype: source.dtype))
                    }
                    throw CheckpointError(path: source.file, problem: FileProblem.system("tensor '\(source.name)': \(error)"))
                }
                try writer.write(UnsafeRawBufferPointer(output))
                bytes.discard((row * sourceRowBytes)..<((row + count) * sourceRowBytes))
                row += count
                progress(row * sourceRowBytes)
            }
        }
    }

    /// GGUF metadata for the output: a GGUF source's own entries (minus the alignment, which the
    /// writer sets, and `general.file_type` / `general.quantization_version` when types change),
    /// else the source's string metadata under `source.metadata.*`; plus
    /// `general.quantization_version` when any tensor is quantized and none is there.
    static func ggufMetadata(from reader: any CheckpointReader, plans: [TensorPlan], dtype: ConversionOptions.TargetDType) -> [MetadataEntry] {
        var entries: [MetadataEntry] = []
        if reader.format == .gguf {
            // With types kept, every entry stays where it was (a llama.cpp file rewritten
            // unchanged is the same file); the writer sets the alignment.
            let dropped: Set<String> = dtype == .keep
                ? ["general.alignment"]
                : ["general.alignment", "general.quantization_version", "general.file_type"]
            entries = reader.metadata.filter { !dropped.contains($0.key) }
        } else {
            for entry in reader.metadata {
                if case .string = entry.value { entries.append(MetadataEntry(key: "source.metadata.\(entry.key)", value: entry.value)) }
            }
        }
        if plans.contains(where: { $0.dtype.isQuantized }), !entries.contains(where: { $0.key == "general.quantization_version" }) {
            entries.append(MetadataEntry(key: "general.quantization_version", value: .uint32(2)))
        }
        return entries
    }

    private static func sameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        guard stat(a, &first) == 0, stat(b, &second) == 0 else { return false }
        return first.st_dev == second.st_dev && first.st_ino == second.st_ino
    }

    private static func fileSize(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : 0
    }
}

