import EAHCore
import EAHTestSupport
import Foundation
import Testing

/// Quantization against gguf-py's `gguf.quants.quantize` (fixtures from tools/make_gguf_fixtures.py).
@Suite struct QuantizerTests {
    /// The block of the input that holds NaN and infinities; the Q8_0/Q4_0 fixtures skip it.
    static let nonFiniteBlock = 11

    static func quantize(_ values: [Float], _ type: DType, outputSize: Int? = nil) throws(ConversionError) -> [UInt8] {
        let size = outputSize ?? type.byteCount(elements: values.count) ?? 0
        var output = [UInt8](repeating: 0xAA, count: size)
        let result: Result<Void, ConversionError> = values.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBytes { destination in
                Result { () throws(ConversionError) in try Quantizer.fromFloat32(source, to: type, into: destination) }
            }
        }
        try result.get()
        return output
    }

    static func input(for type: DType) throws -> [Float] {
        let all = try DequantizerTests.floats("quant/input.f32")
        guard type == .q8_0 || type == .q4_0 else { return all }
        return all.enumerated().filter { $0.offset / 32 != nonFiniteBlock }.map(\.element)
    }

    @Test("bit-exact to gguf-py", arguments: [DType.f16, .bf16, .q8_0, .q4_0])
    func matchesGGUFPy(type: DType) throws {
        let values = try Self.input(for: type)
        let expected = try DequantizerTests.bytes("quant/\(type.name).bin")
        let actual = try Self.quantize(values, type)
        #expect(actual.count == expected.count)
        let mismatches = zip(actual, expected).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(mismatches.isEmpty, "first mismatching bytes: \(mismatches.prefix(6).map { "[\($0.offset)] \($0.element.0) vs \($0.element.1)" })")
    }

    @Test("F32 is a plain copy")
    func f32Copy() throws {
        let values: [Float] = [1, -2.5, .nan, .infinity, 0x1p-149]
        let bytes = try Self.quantize(values, .f32)
        #expect(bytes == values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } })
    }

    @Test("large inputs split over cores give the same result", arguments: [DType.q8_0, .q4_0, .f16])
    func parallelMatchesSerial(type: DType) throws {
        let values = try Self.input(for: .q8_0)
        let repeats = 1024
        let expected = Array([[UInt8]](repeating: try Self.quantize(values, type), count: repeats).joined())
        let large = Array([[Float]](repeating: values, count: repeats).joined())
        #expect(try Self.quantize(large, type) == expected)
    }

    @Test("round trip through Q8_0 stays within half a step")
    func roundTrip() throws {
        let values = (0..<64).map { Float($0 - 32) / 8 }
        let bytes = try Self.quantize(values, .q8_0)
        let back = try DequantizerTests.dequantize(bytes, .q8_0, count: values.count)
        for (a, b) in zip(values, back) { #expect(abs(a - b) <= 4.0 / 127) }
    }

    @Test("unsupported targets and bad sizes are refused")
    func refusals() {
        #expect(throws: ConversionError.unsupported(.q4_K)) { try Self.quantize([Float](repeating: 0, count: 256), .q4_K) }
        #expect(throws: ConversionError.partialBlock(type: .q4_0, elements: 33)) { try Self.quantize([Float](repeating: 0, count: 33), .q4_0) }
        #expect(throws: ConversionError.sizeMismatch(expected: 34, actual: 10)) {
            try Self.quantize([Float](repeating: 1, count: 32), .q8_0, outputSize: 10)
        }
    }
}
