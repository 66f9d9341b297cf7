/// GPT-2's byte-level alphabet: every byte is written as a printable character, the printable
/// Latin-1 bytes as themselves and the others (control characters, space, …) as U+0100 onwards,
/// in byte order (`bytes_to_unicode` in GPT-2's encoder.py and the `tokenizers` library).
enum ByteLevelAlphabet {
    /// The character of each byte.
    static let characters: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if isPrintable(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt8(byte))
            } else {
                table[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// The byte of each character in U+0000…U+01FF (nil for characters outside the alphabet).
    static let bytes: [UInt8?] = {
        var table = [UInt8?](repeating: nil, count: 512)
        for (byte, scalar) in characters.enumerated() { table[Int(scalar.value)] = UInt8(byte) }
        return table
    }()

    static func isPrintable(_ byte: UInt8) -> Bool {
        (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    }

    static func byte(of scalar: Unicode.Scalar) -> UInt8? {
        scalar.value < 512 ? bytes[Int(scalar.value)] : nil
    }

    /// `text`'s UTF-8 bytes written in the alphabet.
    static func encode<C: Collection>(_ text: C) -> [Unicode.Scalar] where C.Element == Unicode.Scalar {
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        for scalar in text {
            if scalar.value < 0x80 {
                output.append(characters[Int(scalar.value)])
            } else {
                for byte in UTF8.encode(scalar)! { output.append(characters[Int(byte)]) }
            }
        }
        return output
    }
}
