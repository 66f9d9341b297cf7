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

    // MARK: - Decode-time dots on a reordered input
    //
    // Widening conversions between SIMD element types (UInt16 → UInt32, Int8 → Int32 → Float)
    // compile to 128-bit pieces and calls, which makes F16/BF16/Q8_0 dots compute-bound. The
    // `permuted` dots instead load weights as 32-bit lanes and split them with shifts and masks
    // (pure lanewise 512/256-bit operations), which yields the elements in a fixed shuffled
    // order; the input vector is reordered once to match (`permuteInput`).

    /// Whether `dotPermuted` handles `dtype`.
    static func hasPermutedDot(_ dtype: DType) -> Bool {
        dtype == .f16 || dtype == .bf16 || dtype == .q8_0
    }

    /// Reorders every whole 32-column chunk of the `count` floats at `x` for `dotPermuted`
    /// (F16/BF16: even then odd columns; Q8_0: columns by position mod 4); the rest is copied.
    static func permuteInput(_ x: UnsafePointer<Float>, count: Int, dtype: DType, into output: UnsafeMutablePointer<Float>) {
        var c = 0
        while c + 32 <= count {
            if dtype == .q8_0 {
                for t in 0..<4 { for l in 0..<8 { output[c + 8 * t + l] = x[c + 4 * l + t] } }
            } else {
                for l in 0..<16 { output[c + l] = x[c + 2 * l]; output[c + 16 + l] = x[c + 2 * l + 1] }
            }
            c += 32
        }
        while c < count { output[c] = x[c]; c += 1 }
    }

    /// F16 bit patterns in the low 16 bits of each lane to floats (exact, ±inf and NaN kept).
    @inline(__always)
    static func halfBits(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
        let magnitude = (h & 0x7fff) &<< 13
        // Scaling by 2^112 re-biases the exponent; subnormal halves land as float subnormals
        // and come out normal, exactly.
        let scaled = unsafeBitCast(magnitude, to: SIMD16<Float>.self) * SIMD16<Float>(repeating: 0x1p112)
        // Exponent 31 (inf/NaN): set all float exponent bits. Masks (`replace(with:where:)`)
        // compile to scalar code, so the lane mask is made arithmetically: 0x7c00 + 0x400 carries
        // into bit 15 exactly when the exponent is all ones.
        let special = (((h & 0x7c00) &+ 0x0400) &>> 15) & 1
        let bits = unsafeBitCast(scaled, to: SIMD16<UInt32>.self) | ((0 &- special) & 0x7f80_0000)
        return unsafeBitCast(bits | ((h & 0x8000) &<< 16), to: SIMD16<Float>.self)
    }

    /// Small integers (|q| < 2^22) to floats through the 1.5·2^23 bias.
    @inline(__always)
    static func smallInts(_ q: SIMD8<Int32>) -> SIMD8<Float> {
        unsafeBitCast(q &+ 0x4B40_0000, to: SIMD8<Float>.self) - SIMD8<Float>(repeating: 12_582_912)
    }

    /// `Σ_c x[c] · row[c]` with `permuted` from `permuteInput` (same count and type).
    static func dotPermuted(_ row: UnsafeRawPointer, dtype: DType, _ permuted: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>.zero, acc1 = SIMD16<Float>.zero
        var acc2 = SIMD16<Float>.zero, acc3 = SIMD16<Float>.zero
        var tail: Float = 0
        var c = 0
        let x = permuted
        switch dtype {
        case .f16:
            while c + 64 <= count {
                let v0 = row.loadUnaligned(fromByteOffset: 2 * c, as: SIMD16<UInt32>.self)
                let v1 = row.loadUnaligned(fromByteOffset: 2 * c + 64, as: SIMD16<UInt32>.self)
                acc0.addProduct(load(x + c), halfBits(v0 & 0xffff)); acc1.addProduct(load(x + c + 16), halfBits(v0 &>> 16))
                acc2.addProduct(load(x + c + 32), halfBits(v1 & 0xffff)); acc3.addProduct(load(x + c + 48), halfBits(v1 &>> 16))
                c += 64
            }
            while c + 32 <= count {
                let v0 = row.loadUnaligned(fromByteOffset: 2 * c, as: SIMD16<UInt32>.self)
                acc0.addProduct(load(x + c), halfBits(v0 & 0xffff)); acc1.addProduct(load(x + c + 16), halfBits(v0 &>> 16))
                c += 32
            }
            while c < count { tail += x[c] * half(row, 2 * c); c += 1 }
        case .bf16:
            while c + 64 <= count {
                let v0 = row.loadUnaligned(fromByteOffset: 2 * c, as: SIMD16<UInt32>.self)
                let v1 = row.loadUnaligned(fromByteOffset: 2 * c + 64, as: SIMD16<UInt32>.self)
                acc0.addProduct(load(x + c), unsafeBitCast(v0 &<< 16, to: SIMD16<Float>.self))
                acc1.addProduct(load(x + c + 16), unsafeBitCast(v0 & 0xffff_0000, to: SIMD16<Float>.self))
                acc2.addProduct(load(x + c + 32), unsafeBitCast(v1 &<< 16, to: SIMD16<Float>.self))
                acc3.addProduct(load(x + c + 48), unsafeBitCast(v1 & 0xffff_0000, to: SIMD16<Float>.self))
                c += 64
            }
            while c + 32 <= count {
                let v0 = row.loadUnaligned(fromByteOffset: 2 * c, as: SIMD16<UInt32>.self)
                acc0.addProduct(load(x + c), unsafeBitCast(v0 &<< 16, to: SIMD16<Float>.self))
                acc1.addProduct(load(x + c + 16), unsafeBitCast(v0 & 0xffff_0000, to: SIMD16<Float>.self))
                c += 32
            }
            while c < count {
                tail += x[c] * BFloat16Bits.toFloat(row.loadUnaligned(fromByteOffset: 2 * c, as: UInt16.self))
                c += 1
            }
        case .q8_0:
            var sum0 = SIMD8<Float>.zero, sum1 = SIMD8<Float>.zero
            @inline(__always) func block(_ b: UnsafeRawPointer, _ x: UnsafePointer<Float>) -> SIMD8<Float> {
                let v = b.loadUnaligned(fromByteOffset: 2, as: SIMD8<Int32>.self)
                let xr = UnsafeRawPointer(x)
                var s = smallInts((v &<< 24) &>> 24) * xr.loadUnaligned(as: SIMD8<Float>.self)
                s.addProduct(smallInts((v &<< 16) &>> 24), xr.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self))
                s.addProduct(smallInts((v &<< 8) &>> 24), xr.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self))
                s.addProduct(smallInts(v &>> 24), xr.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self))
                return s
            }
            var b = row
            while c + 64 <= count {
                sum0.addProduct(SIMD8(repeating: half(b)), block(b, x + c))
                sum1.addProduct(SIMD8(repeating: half(b + 34)), block(b + 34, x + c + 32))
                b += 68; c += 64
            }
            while c < count {
                sum0.addProduct(SIMD8(repeating: half(b)), block(b, x + c))
                b += 34; c += 32
            }
            return (sum0 + sum1).sum()
        default:
            preconditionFailure("no permuted dot for \(dtype.name)")
        }
        return ((acc0 + acc1) + (acc2 + acc3)).sum() + tail
    }
}
