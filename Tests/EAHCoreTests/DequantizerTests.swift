import EAHCore
import EAHTestSupport
import Foundation
import Testing

/// Dequantization against gguf-py's `gguf.quants.dequantize` (fixtures from tools/make_gguf_fixtures.py).
@Suite struct DequantizerTests {
    static let fixtureTypes: [DType] = [
        .f32, .f16, .bf16, .f64, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1,
        .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq4_NL, .iq4_XS, .tq1_0, .tq2_0, .mxfp4,
    ]

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gguf/" + name))))
    }

    static func floats(_ name: String) throws -> [Float] {
        let raw = try bytes(name)
        return stride(from: 0, to: raw.count, by: 4).map { offset in
            Float(bitPattern: UInt32(raw[offset]) | UInt32(raw[offset + 1]) << 8 | UInt32(raw[offset + 2]) << 16 | UInt32(raw[offset + 3]) << 24)
        }
    }

    static func dequantize(_ source: [UInt8], _ type: DType, count: Int) throws(ConversionError) -> [Float] {
        var output = [Float](repeating: .nan, count: count)
        let result: Result<Void, ConversionError> = source.withUnsafeBytes { raw in
            output.withUnsafeMutableBufferPointer { destination in
                Result { () throws(ConversionError) in try Dequantizer.toFloat32(raw, type: type, into: destination) }
            }
        }
        try result.get()
        return output
    }

    @Test("bit-exact to gguf-py", arguments: fixtureTypes)
    func matchesGGUFPy(type: DType) throws {
        let source = try Self.bytes("dequant/\(type.name).bin")
        let expected = try Self.floats("dequant/\(type.name).f32")
        #expect(type.byteCount(elements: expected.count) == source.count)
        let actual = try Self.dequantize(source, type, count: expected.count)
        let mismatches = zip(actual, expected).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(4).map { "[\($0.offset)] \($0.element.0) vs \($0.element.1)" })")
    }

    @Test("large inputs split over cores give the same result")
    func parallelMatchesSerial() throws {
        let block = try Self.bytes("dequant/Q4_K.bin")  // 4 blocks
        let expectedBlock = try Self.floats("dequant/Q4_K.f32")
        let repeats = 2048  // 4 · 2048 blocks, ~1.2 MiB source, 8 MiB output
        let source = Array([[UInt8]](repeating: block, count: repeats).joined())
        let actual = try Self.dequantize(source, .q4_K, count: expectedBlock.count * repeats)
        let expected = Array([[Float]](repeating: expectedBlock, count: repeats).joined())
        #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test("F16 edge values: subnormals, infinities, NaN payloads")
    func halfEdges() throws {
        let bits: [UInt16] = [0x0001, 0x8001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0xfc00, 0x7e01, 0x7c01, 0x8000]
        let source = bits.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] }
        let output = try Self.dequantize(source, .f16, count: bits.count)
        #expect(output[0] == 0x1p-24)
        #expect(output[1] == -0x1p-24)
        #expect(output[2] == 0x3ffp-24)
        #expect(output[3] == 0x1p-14)
        #expect(output[4] == 65504)
        #expect(output[5] == .infinity)
        #expect(output[6] == -.infinity)
        #expect(output[7].bitPattern == 0x7fc0_2000)
        #expect(output[8].bitPattern == 0x7f80_2000)  // signalling NaN kept as numpy keeps it
        #expect(output[9].bitPattern == 0x8000_0000)
    }

    @Test("unsupported types are refused by name")
    func unsupported() {
        #expect(throws: ConversionError.unsupported(.iq2_XXS)) {
            try Self.dequantize([UInt8](repeating: 0, count: 66), .iq2_XXS, count: 256)
        }
        #expect(!Dequantizer.supports(.iq2_XXS))
        #expect(ConversionError.unsupported(.iq2_XXS).description.contains("IQ2_XXS"))
    }

    @Test("size mismatches and partial blocks are refused")
    func sizeChecks() {
        #expect(throws: ConversionError.sizeMismatch(expected: 34, actual: 33)) {
            try Self.dequantize([UInt8](repeating: 0, count: 33), .q8_0, count: 32)
        }
        #expect(throws: ConversionError.partialBlock(type: .q8_0, elements: 31)) {
            try Self.dequantize([UInt8](repeating: 0, count: 34), .q8_0, count: 31)
        }
        #expect(throws: ConversionError.sizeMismatch(expected: 8, actual: 6)) {
            try Self.dequantize([UInt8](repeating: 0, count: 6), .f32, count: 2)
        }
    }

    @Test("empty input is fine")
    func empty() throws {
        #expect(try Self.dequantize([], .q4_K, count: 0).isEmpty)
    }
}
