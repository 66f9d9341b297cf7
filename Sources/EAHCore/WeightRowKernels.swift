/// SIMD kernels over one row of a `WeightMatrix` in its stored type: decoding a run of columns
/// to F32 (for packing GEMM panels) and fused dot products with F32 vectors (for decode-time
/// matrix-vector products, which stream each weight byte once).
///
/// Supported types: F32, F16, BF16, Q8_0, Q4_0 (`supports`). For Q8_0/Q4_0 the column offset
/// and count must be multiples of 32. Decoded values equal `Dequantizer`'s exactly.
enum WeightRowKernels {
    static func supports(_ dtype: DType) -> Bool {
        switch dtype {
        case .f32, .f16, .bf16, .q8_0, .q4_0: true
        default: false
        }
    }

    @inline(__always)
    static func half(_ raw: UnsafeRawPointer, _ offset: Int = 0) -> Float {
        Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    @inline(__always)
    static func load(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func store(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func f16x16(_ raw: UnsafeRawPointer) -> SIMD16<Float> {
        SIMD16<Float>(raw.loadUnaligned(as: SIMD16<Float16>.self))
    }

    @inline(__always)
    static func bf16x16(_ raw: UnsafeRawPointer) -> SIMD16<Float> {
        let bits = SIMD16<UInt32>(truncatingIfNeeded: raw.loadUnaligned(as: SIMD16<UInt16>.self)) &<< 16
        return unsafeBitCast(bits, to: SIMD16<Float>.self)
    }

    /// Q8_0 block at `block` as two vectors of 16 quants (not yet scaled).
    @inline(__always)
    static func q8x32(_ block: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let low = block.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
        let high = block.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
        return (SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: low)), SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: high)))
    }

    /// Q4_0 block at `block` as two vectors of 16 quants minus 8 (elements 0..<16 and 16..<32).
    @inline(__always)
    static func q4x32(_ block: UnsafeRawPointer) -> (SIMD16<Float>, SIMD16<Float>) {
        let bytes = SIMD16<Int32>(truncatingIfNeeded: block.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self))
        let eight = SIMD16<Int32>(repeating: 8)
        return (SIMD16<Float>((bytes & 0x0f) &- eight), SIMD16<Float>((bytes &>> 4) &- eight))
    }

    /// Writes columns `first ..< first + count` of the row at `row` (its raw bytes) as F32.
    static func decode(_ row: UnsafeRawPointer, dtype: DType, first: Int, count: Int, into output: UnsafeMutablePointer<Float>) {
        var c = 0
        switch dtype {
        case .f32:
            (output).update(from: row.assumingMemoryBound(to: Float.self) + first, count: count)
            return
        case .f16:
            let source = row + 2 * first
            while c + 16 <= count { store(f16x16(source + 2 * c), output + c); c += 16 }
            while c < count { output[c] = half(source, 2 * c); c += 1 }
        case .bf16:
            let source = row + 2 * first
            while c + 16 <= count { store(bf16x16(source + 2 * c), output + c); c += 16 }
            while c < count {
                output[c] = BFloat16Bits.toFloat(source.loadUnaligned(fromByteOffset: 2 * c, as: UInt16.self))
                c += 1
            }
        case .q8_0:
            var block = row + 34 * (first / 32)
            while c < count {
                let d = SIMD16<Float>(repeating: half(block)), (q0, q1) = q8x32(block)
                store(q0 * d, output + c); store(q1 * d, output + c + 16)
                block += 34; c += 32
            }
        case .q4_0:
            var block = row + 18 * (first / 32)
            while c < count {
                let d = SIMD16<Float>(repeating: half(block)), (q0, q1) = q4x32(block)
                store(q0 * d, output + c); store(q1 * d, output + c + 16)
                block += 18; c += 32
            }
        default:
            preconditionFailure("no row kernel for \(dtype.name)")
        }
    }

    /// `Σ_c x[c] · row[c]` over `count` columns.
    static func dot(_ row: UnsafeRawPointer, dtype: DType, _ x: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>.zero, acc1 = SIMD16<Float>.zero
        var acc2 = SIMD16<Float>.zero, acc3 = SIMD16<Float>.zero
        var tail: Float = 0
        var c = 0
        switch dtype {
        case .f32:
            let w = row.assumingMemoryBound(to: Float.self)
            while c + 64 <= count {
                acc0.addProduct(load(x + c), load(w + c)); acc1.addProduct(load(x + c + 16), load(w + c + 16))
                acc2.addProduct(load(x + c + 32), load(w + c + 32)); acc3.addProduct(load(x + c + 48), load(w + c + 48))
                c += 64
            }
            while c + 16 <= count { acc0.addProduct(load(x + c), load(w + c)); c += 16 }
            while c < count { tail += x[c] * w[c]; c += 1 }
        case .f16:
            while c + 64 <= count {
                acc0.addProduct(load(x + c), f16x16(row + 2 * c)); acc1.addProduct(load(x + c + 16), f16x16(row + 2 * c + 32))
                acc2.addProduct(load(x + c + 32), f16x16(row + 2 * c + 64)); acc3.addProduct(load(x + c + 48), f16x16(row + 2 * c + 96))
                c += 64
            }
            while c + 16 <= count { acc0.addProduct(load(x + c), f16x16(row + 2 * c)); c += 16 }
            while c < count { tail += x[c] * half(row, 2 * c); c += 1 }
        case .bf16:
            while c + 64 <= count {
                acc0.addProduct(load(x + c), bf16x16(row + 2 * c)); acc1.addProduct(load(x + c + 16), bf16x16(row + 2 * c + 32))
                acc2.addProduct(load(x + c + 32), bf16x16(row + 2 * c + 64)); acc3.addProduct(load(x + c + 48), bf16x16(row + 2 * c + 96))
                c += 64
            }
            while c + 16 <= count { acc0.addProduct(load(x + c), bf16x16(row + 2 * c)); c += 16 }
            while c < count {
                tail += x[c] * BFloat16Bits.toFloat(row.loadUnaligned(fromByteOffset: 2 * c, as: UInt16.self))
                c += 1
            }
        case .q8_0:
            var block = row
            while c + 64 <= count {
                let (q0, q1) = q8x32(block), (q2, q3) = q8x32(block + 34)
                acc0.addProduct(SIMD16(repeating: half(block)), q0 * load(x + c) + q1 * load(x + c + 16))
                acc1.addProduct(SIMD16(repeating: half(block + 34)), q2 * load(x + c + 32) + q3 * load(x + c + 48))
                block += 68; c += 64
            }
            while c < count {
                let (q0, q1) = q8x32(block)
                acc2.addProduct(SIMD16(repeating: half(block)), q0 * load(x + c) + q1 * load(x + c + 16))
                block += 34; c += 32
            }
        case .q4_0:
            var block = row
            while c + 64 <= count {
                let (q0, q1) = q4x32(block), (q2, q3) = q4x32(block + 18)
                acc0.addProduct(SIMD16(repeating: half(block)), q0 * load(x + c) + q1 * load(x + c + 16))
                acc1.addProduct(SIMD16(repeating: half(block + 18)), q2 * load(x + c + 32) + q3 * load(x + c + 48))
                block += 36; c += 64
            }
            while c < count {
                let (q0, q1) = q4x32(block)
                acc2.addProduct(SIMD16(repeating: half(block)), q0 * load(x + c) + q1 * load(x + c + 16))
                block += 18; c += 32
            }
        default:
            preconditionFailure("no row kernel for \(dtype.name)")
        }
        return ((acc0 + acc1) + (acc2 + acc3)).sum() + tail
    }
}
