/// Strict base64 (RFC 4648, standard alphabet) for data URLs: padding optional, no other bytes
/// (whitespace included) accepted.
public enum Base64 {
    private static let table: [UInt8] = {
        var table = [UInt8](repeating: 0xff, count: 256)
        for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// The decoded bytes, or nil when `text` is not base64.
    public static func decode(_ text: Substring.UTF8View) -> [UInt8]? {
        var input = Array(text)
        if input.last == UInt8(ascii: "=") { input.removeLast() }
        if input.last == UInt8(ascii: "=") { input.removeLast() }
        guard input.count % 4 != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3 / 4)
        var buffer: UInt32 = 0, bits = 0
        for byte in input {
            let value = table[Int(byte)]
            guard value != 0xff else { return nil }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return output
    }
}
