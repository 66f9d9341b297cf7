import EAHCheckpoint
import EAHTestSupport
import Testing

/// One test per malformation of formats.md §4 (safetensors); each asserts the exact problem.
@Suite struct SafetensorsMalformedTests {
    private let data12 = [UInt8](repeating: 7, count: 12)

    private func problem(_ header: String, data: [UInt8]? = nil) -> SafetensorsProblem? {
        SafetensorsBytes.safetensorsProblem(SafetensorsBytes.file(header: header, data: data ?? data12))
    }

    /// Two F32 tensors, `a` = [0, 8) and `b` = [8, 12), with `a`'s entry replaced by `entry`.
    private func withA(_ entry: String) -> SafetensorsProblem? {
        problem(#"{"a":"# + entry + #","b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#)
    }

    @Test func validBaseOpens() {
        #expect(SafetensorsBytes.problem(SafetensorsBytes.file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#, data: data12)) == nil)
    }

    @Test func fileShorterThanEightBytes() {
        for length in 0..<8 {
            #expect(SafetensorsBytes.safetensorsProblem([UInt8](repeating: 0, count: length)) == .headerTooSmall(fileLength: length))
        }
    }

    @Test func headerLengthAboveLimit() {
        let bytes = SafetensorsBytes.file(header: "{}", headerLength: 100_000_001)
        #expect(SafetensorsBytes.safetensorsProblem(bytes) == .headerTooLarge(headerLength: 100_000_001))
        #expect(SafetensorsBytes.safetensorsProblem(SafetensorsBytes.file(header: "{}", headerLength: .max)) == .headerTooLarge(headerLength: .max))
    }

    @Test func headerLengthPastEndOfFile() {
        let bytes = SafetensorsBytes.file(header: "{}      ", headerLength: 9)
        #expect(SafetensorsBytes.safetensorsProblem(bytes) == .headerPastEnd(headerLength: 9, fileLength: 16))
        // Exactly at the limit but the file is short.
        #expect(SafetensorsBytes.safetensorsProblem(SafetensorsBytes.file(header: "{}", headerLength: 100_000_000))
                == .headerPastEnd(headerLength: 100_000_000, fileLength: 10))
    }

    @Test func headerNotUTF8() {
        let header = Array(#"{"a\#u{00}":{}}"#.utf8).map { $0 == 0 ? 0xFF : $0 }
        #expect(SafetensorsBytes.safetensorsProblem(SafetensorsBytes.file(headerBytes: header)) == .headerNotUTF8(offset: 8 + 3))
    }

    @Test func headerNotJSON() {
        #expect(problem("{\"a\":", data: []) == .invalidJSON(.unexpectedEnd(offset: 5)))
        #expect(problem("{} x", data: []) == .invalidJSON(.trailingData(offset: 3)))
    }

    @Test func headerNotAnObject() {
        #expect(problem("[]", data: []) == .headerNotObject)
        #expect(problem("\"x\"", data: []) == .headerNotObject)
        #expect(problem("null", data: []) == .headerNotObject)
    }

    @Test func duplicateTensorName() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(problem(header) == .duplicateKey("a"))
    }

    @Test func duplicateFieldInEntry() {
        #expect(withA(#"{"dtype":"F32","shape":[2],"dtype":"F32","data_offsets":[0,8]}"#) == .duplicateKey("dtype"))
    }

    @Test func metadataNotStringToString() {
        let tail = #","a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        #expect(problem(#"{"__metadata__":{"format":"pt","n":1}"# + tail, data: [0]) == .invalidMetadata(key: "n"))
        #expect(problem(#"{"__metadata__":{"o":{"x":"y"}}"# + tail, data: [0]) == .invalidMetadata(key: "o"))
        #expect(problem(#"{"__metadata__":{"b":true}"# + tail, data: [0]) == .invalidMetadata(key: "b"))
        #expect(problem(#"{"__metadata__":"pt""# + tail, data: [0]) == .invalidMetadata(key: nil))
        #expect(problem(#"{"__metadata__":null"# + tail, data: [0]) == .invalidMetadata(key: nil))
    }

    @Test func entryNotAnObject() {
        #expect(withA("[1]") == .entryNotObject(tensor: "a"))
    }

    @Test func missingField() {
        #expect(withA(#"{"shape":[2],"data_offsets":[0,8]}"#) == .missingField(tensor: "a", field: "dtype"))
        #expect(withA(#"{"dtype":"F32","data_offsets":[0,8]}"#) == .missingField(tensor: "a", field: "shape"))
        #expect(withA(#"{"dtype":"F32","shape":[2]}"#) == .missingField(tensor: "a", field: "data_offsets"))
    }

    @Test func extraField() {
        #expect(withA(#"{"dtype":"F32","shape":[2],"data_offsets":[0,8],"stride":[1]}"#) == .unexpectedField(tensor: "a", field: "stride"))
    }

    @Test func wrongFieldTypes() {
        #expect(withA(#"{"dtype":32,"shape":[2],"data_offsets":[0,8]}"#) == .invalidField(tensor: "a", field: "dtype"))
        #expect(withA(#"{"dtype":"F32","shape":2,"data_offsets":[0,8]}"#) == .invalidField(tensor: "a", field: "shape"))
        #expect(withA(#"{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}"#) == .invalidField(tensor: "a", field: "shape"))
        #expect(withA(#"{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}"#) == .invalidField(tensor: "a", field: "data_offsets"))
        #expect(withA(#"{"dtype":"F32","shape":[2],"data_offsets":[0]}"#) == .invalidField(tensor: "a", field: "data_offsets"))
        #expect(withA(#"{"dtype":"F32","shape":[2],"data_offsets":"0-8"}"#) == .invalidField(tensor: "a", field: "data_offsets"))
    }

    @Test func negativeNumbers() {
        #expect(withA(#"{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}"#) == .invalidNumber(tensor: "a", field: "shape"))
        #expect(withA(#"{"dtype":"F32","shape":[2],"data_offsets":[-8,8]}"#) == .invalidNumber(tensor: "a", field: "data_offsets"))
    }

    @Test func fractionalNumbers() {
        #expect(withA(#"{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}"#) == .invalidNumber(tensor: "a", field: "shape"))
        #expect(withA(#"{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}"#) == .invalidNumber(tensor: "a", field: "shape"))
        #expect(withA(#"{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}"#) == .invalidNumber(tensor: "a", field: "data_offsets"))
    }

    @Test func hugeNumbers() {
        // 2^53 + 1 fits Int but is above the exact-double range.
        #expect(withA(#"{"dtype":"F32","shape":[9007199254740993],"data_offsets":[0,8]}"#) == .invalidNumber(tensor: "a", field: "shape"))
        #expect(withA(#"{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]}"#) == .invalidNumber(tensor: "a", field: "data_offsets"))
        #expect(withA(#"{"dtype":"F32","shape":[2],"data_offsets":[0,1e400]}"#) == .invalidJSON(.numberOutOfRange(offset: 50)))
    }

    @Test func unknownDType() {
        #expect(withA(#"{"dtype":"F128","shape":[2],"data_offsets":[0,8]}"#) == .unknownDType(tensor: "a", dtype: "F128"))
        #expect(withA(#"{"dtype":"f32","shape":[2],"data_offsets":[0,8]}"#) == .unknownDType(tensor: "a", dtype: "f32"))
        // Names eah knows but safetensors does not.
        #expect(withA(#"{"dtype":"C128","shape":[1],"data_offsets":[0,8]}"#) == .unknownDType(tensor: "a", dtype: "C128"))
        #expect(withA(#"{"dtype":"Q8_0","shape":[32],"data_offsets":[0,8]}"#) == .unknownDType(tensor: "a", dtype: "Q8_0"))
    }

    @Test func shapeProductOverflow() {
        let big = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#
        #expect(problem(big, data: []) == .shapeOverflow(tensor: "a"))
        // The element count fits but the bit count does not.
        let bits = #"{"a":{"dtype":"F64","shape":[9007199254740992,64],"data_offsets":[0,0]}}"#
        #expect(problem(bits, data: []) == .shapeOverflow(tensor: "a"))
    }

    @Test func subByteNotWholeBytes() {
        #expect(problem(#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, data: [0, 0]) == .misalignedSlice(tensor: "a"))
        #expect(problem(#"{"a":{"dtype":"F6_E3M2","shape":[2],"data_offsets":[0,2]}}"#, data: [0, 0]) == .misalignedSlice(tensor: "a"))
    }

    @Test func firstTensorDoesNotStartAtZero() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(problem(header) == .gap(tensor: "a", begin: 4, expected: 0))
    }

    @Test func gapBetweenTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(problem(header) == .gap(tensor: "b", begin: 8, expected: 4))
    }

    @Test func overlappingTensors() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(problem(header) == .overlap(tensor: "b", begin: 4, expected: 8))
        // Two tensors over the same bytes (aliasing).
        let alias = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#
        #expect(problem(alias) == .overlap(tensor: "b", begin: 0, expected: 12))
    }

    @Test func endBeforeBegin() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#
        #expect(problem(header) == .endBeforeBegin(tensor: "b", begin: 8, end: 4))
    }

    @Test func sizeMismatch() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,12]}}"#
        #expect(problem(header) == .sizeMismatch(tensor: "b", expected: 2, actual: 4))
    }

    @Test func truncatedData() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(problem(header, data: Array(data12.prefix(11))) == .truncatedData(expected: 12, actual: 11))
        #expect(problem(header, data: []) == .truncatedData(expected: 12, actual: 0))
    }

    @Test func trailingBytes() {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        #expect(problem(header, data: data12 + [0]) == .trailingBytes(count: 1))
        #expect(problem("{}", data: Array("PK\u{3}\u{4}".utf8)) == .trailingBytes(count: 4))
    }

    /// Cuts the reference fixture at several points; each cut fails with the problem of its region.
    @Test func referenceFixtureTruncatedAtSeveralPoints() throws {
        let bytes = try SafetensorsBytes.fixture()
        let expected = try ExpectedSafetensors.load("all_dtypes.safetensors")
        let dataStart = 8 + expected.headerLength
        let dataLength = bytes.count - dataStart
        #expect(SafetensorsBytes.safetensorsProblem(bytes) == nil)
        for cut in [0, 1, 7] {
            #expect(SafetensorsBytes.safetensorsProblem(Array(bytes.prefix(cut))) == .headerTooSmall(fileLength: cut))
        }
        for cut in [8, 9, 100, dataStart - 1] {
            #expect(SafetensorsBytes.safetensorsProblem(Array(bytes.prefix(cut)))
                    == .headerPastEnd(headerLength: UInt64(expected.headerLength), fileLength: cut))
        }
        for cut in [dataStart, dataStart + 1, dataStart + dataLength / 2, bytes.count - 1] {
            #expect(SafetensorsBytes.safetensorsProblem(Array(bytes.prefix(cut)))
                    == .truncatedData(expected: dataLength, actual: cut - dataStart))
        }
        #expect(SafetensorsBytes.safetensorsProblem(bytes + [0, 0, 0]) == .trailingBytes(count: 3))
    }

    @Test func neverCrashesOnMutatedFixture() throws {
        let original = try SafetensorsBytes.fixture()
        var generator = SplitMix64(seed: 7)
        let folder = TemporaryDirectory()
        for round in 0..<300 {
            var bytes = original
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                let index = Int(generator.next() % UInt64(min(bytes.count, 8 + 400)))
                bytes[index] = UInt8(truncatingIfNeeded: generator.next())
            }
            let path = folder.write("m\(round).safetensors", bytes)
            do throws(CheckpointError) {
                let reader = try SafetensorsReader(path: path)
                for tensor in reader.tensors { _ = try reader.bytes(of: tensor).count }
            } catch {
                _ = error.description
            }
        }
    }
}
