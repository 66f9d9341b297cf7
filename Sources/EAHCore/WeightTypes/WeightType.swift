import CEAHKernels

/// A weight type: its block layout, its decoding to F32 and (through `KernelSet`) the product of
/// a weight row with an activation row quantized to its partner format, as ggml's
/// `type_traits_cpu` / candle's `GgmlType`.
///
/// Each type is one file in this folder plus one line in `WeightTypes.all`; its product kernels
/// live in CEAHKernels, in the slot of its ggml type id. Matrix products (`MatrixMultiply.linear`)
/// use these for every registered type, so such weights are never decoded to F32 at load.
protocol WeightType: Sendable {
    static var dtype: DType { get }
    /// Elements per block (1 for plain floats).
    static var blockElements: Int { get }
    /// Bytes per block.
    static var blockBytes: Int { get }
    /// The format activations are converted to for products with this type (ggml's `vec_dot_type`).
    static var activation: ActivationFormat { get }
    /// Decodes `blocks` whole blocks at `source` to `blocks · blockElements` floats, bit-exact
    /// to gguf-py's `dequantize`.
    static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int)
}

extension WeightType {
    /// The slot of this type in the C kernel tables (its ggml type id).
    static var kernelSlot: Int32 { Int32(dtype.ggmlTypeID ?? -1) }
}

/// What activations become before a product with a weight row.
enum ActivationFormat: Sendable {
    /// Plain F32 (for F32, F16, BF16 weights).
    case f32
    /// Q8_0 blocks of 32: an F16 scale and 32 int8 (for 32-element weight blocks).
    case q8_0
    /// Q8_K blocks of 256: an F32 scale, 256 int8 and 16 int16 sums of 16 (for 256-element blocks).
    case q8_K

    /// Bytes of one row of `columns` activations (a whole number of blocks).
    func rowBytes(_ columns: Int) -> Int {
        switch self {
        case .f32: 4 * columns
        case .q8_0: columns / 32 * 34
        case .q8_K: columns / 256 * 292
        }
    }
}

/// The registry of weight types with product kernels.
public enum WeightTypes {
    static let all: [any WeightType.Type] = [
        F32.self, F16.self, BF16.self,
        Q4_0.self, Q4_1.self, Q5_0.self, Q5_1.self, Q8_0.self, IQ4_NL.self,
        Q2_K.self, Q3_K.self, Q4_K.self, Q5_K.self, Q6_K.self, Q8_K.self, IQ4_XS.self,
    ]

    private static let byDType: [DType: any WeightType.Type] = Dictionary(uniqueKeysWithValues: all.map { ($0.dtype, $0) })

    /// The weight type of `dtype`, or nil when products with it have no kernel.
    static func type(of dtype: DType) -> (any WeightType.Type)? { byDType[dtype] }

    /// Whether weights of `dtype` multiply in their stored form (no F32 copy at load).
    public static func hasKernel(_ dtype: DType) -> Bool { byDType[dtype] != nil }
}

/// Little-endian field readers shared by the block decoders.
enum BlockBytes {
    @inline(__always)
    static func half(_ block: UnsafePointer<UInt8>, _ offset: Int) -> Float {
        Float16Bits.toFloat(UInt16(block[offset]) | UInt16(block[offset + 1]) << 8)
    }

    @inline(__always)
    static func u32(_ block: UnsafePointer<UInt8>, _ offset: Int) -> UInt32 {
        UInt32(block[offset]) | UInt32(block[offset + 1]) << 8 | UInt32(block[offset + 2]) << 16 | UInt32(block[offset + 3]) << 24
    }

    /// IQ4_NL / IQ4_XS non-linear 4-bit levels.
    static let iq4Levels: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// Q4_K / Q5_K 6-bit scales and mins of the 8 sub-blocks (gguf-py's `get_scale_min`).
    @inline(__always)
    static func scaleMin(_ scales: UnsafePointer<UInt8>, _ index: Int) -> (scale: UInt8, min: UInt8) {
        if index < 4 {
            return (scales[index] & 63, scales[index + 4] & 63)
        }
        let scale = (scales[index + 4] & 0x0f) | ((scales[index - 4] >> 2) & 0x30)
        let minimum = (scales[index + 4] >> 4) | ((scales[index] >> 2) & 0x30)
        return (scale, minimum)
    }
}

/// One table of CPU kernels from CEAHKernels: `active` is the best this CPU runs (chosen once
/// from CPUID/HWCAP; `EAH_ISA=portable|avx2|avx512|neon|neon-dotprod` forces another), `runnable`
/// lists every compiled variant the CPU supports, portable first.
public struct KernelSet: @unchecked Sendable {
    let table: UnsafePointer<eah_kernel_table>

    /// The variant's name ("portable", "avx2", "avx512", "neon", "neon-dotprod").
    public var name: String { String(cString: table.pointee.name) }

    public static let active = KernelSet(table: eah_kernels_active())

    public static var runnable: [KernelSet] {
        var count: Int32 = 0
        let tables = eah_kernels_runnable(&count)!
        return (0..<Int(count)).map { KernelSet(table: tables[$0]!) }
    }

    /// The product kernel for weights of `type`.
    func dot(_ type: any WeightType.Type) -> eah_vec_dot_fn? {
        eah_vec_dot_for(table, type.kernelSlot)
    }

    /// `x[i] / (1 + e^(−alpha·x[i]))` in place for i < `count` (the exponential within 2 ulp):
    /// SiLU with `alpha` 1, quick GELU with 1.702.
    public func sigmoidGate(_ x: UnsafeMutablePointer<Float>, count: Int, alpha: Float = 1) {
        Self.inParts(count) { offset, part in table.pointee.sigmoid_gate(x + offset, part, alpha) }
    }

    /// `x[i] = e^(x[i] − shift)` in place for i < `count` (within 2 ulp; −∞ gives 0); returns
    /// their sum.
    public func expShifted(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
        var sum: Float = 0
        Self.inParts(count) { offset, part in sum += table.pointee.exp_shifted(x + offset, part, shift) }
        return sum
    }

    /// Calls `body(offset, length)` over `0..<count` in parts short enough for a C `int` length.
    private static func inParts(_ count: Int, _ body: (Int, Int32) -> Void) {
        var offset = 0
        while offset < count {
            let part = min(count - offset, 1 << 30)
            body(offset, Int32(part))
            offset += part
        }
    }

    /// The GEMM micro-panel packer for weights of `type` (F32, F16 and BF16; nil for others).
    func gemmPack(_ type: any WeightType.Type) -> eah_gemm_pack_fn? {
        eah_gemm_pack_for(table, type.kernelSlot)
    }

    /// The four-activation-row product kernel for weights of `type`, where this variant has one.
    func dot4(_ type: any WeightType.Type) -> eah_vec_dot4_fn? {
        eah_vec_dot4_for(table, type.kernelSlot)
    }

    /// The packed-panel product for weights of `type` and the quantizer of its activation rows,
    /// where this variant has them.
    func panel(_ type: any WeightType.Type) -> (kernel: eah_panel_fn, quantize: eah_quantize_fn)? {
        let slot = Int(type.kernelSlot)
        guard slot >= 0, slot < Int(EAH_TYPE_SLOTS) else { return nil }
        let kernel = withUnsafePointer(to: table.pointee.panel) { $0.withMemoryRebound(to: eah_panel_fn?.self, capacity: slot + 1) { $0[slot] } }
        let quantize = withUnsafePointer(to: table.pointee.panel_quantize) { $0.withMemoryRebound(to: eah_quantize_fn?.self, capacity: slot + 1) { $0[slot] } }
        guard let kernel, let quantize else { return nil }
        return (kernel, quantize)
    }

    /// The one-row product on panel-format activations (decode) for weights of `type`, where this
    /// variant has one (its activations come from `panel(type).quantize`).
    func panelDot(_ type: any WeightType.Type) -> eah_vec_dot_fn? {
        let slot = Int(type.kernelSlot)
        guard slot >= 0, slot < Int(EAH_TYPE_SLOTS) else { return nil }
        return withUnsafePointer(to: table.pointee.panel_dot) { $0.withMemoryRebound(to: eah_vec_dot_fn?.self, capacity: slot + 1) { $0[slot] } }
    }

    /// Converts `columns` floats at `x` to `format` at `output` (`format.rowBytes(columns)` bytes).
    func quantize(_ x: UnsafePointer<Float>, columns: Int, to format: ActivationFormat, into output: UnsafeMutableRawPointer) {
        switch format {
        case .f32: output.copyMemory(from: x, byteCount: 4 * columns)
        case .q8_0: table.pointee.quantize_q8_0(x, output, Int32(columns))
        case .q8_K: table.pointee.quantize_q8_K(x, output, Int32(columns))
        }
    }
}
