/// Builds small zip archives byte by byte for malformed-input tests.
struct ZipTestBuilder {
    struct Entry {
        var name: String
        var data: [UInt8]
        var method: UInt16 = 0
        var flags: UInt16 = 0
        var crc: UInt32? = nil
        var uncompressedSize: Int? = nil
    }

    var entries: [Entry] = []

    mutating func add(_ name: String, _ data: [UInt8], method: UInt16 = 0, flags: UInt16 = 0, crc: UInt32? = nil, uncompressedSize: Int? = nil) {
        entries.append(Entry(name: name, data: data, method: method, flags: flags, crc: crc, uncompressedSize: uncompressedSize))
    }

    mutating func add(_ name: String, _ text: String) { add(name, Array(text.utf8)) }

    /// The archive: local headers and data, central directory, end record.
    func build() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in entries {
            let offset = out.count
            let crc = entry.crc ?? Self.crc32(entry.method == 0 ? entry.data : [])
            let size = entry.uncompressedSize ?? entry.data.count
            let name = Array(entry.name.utf8)
            out += le32(0x0403_4B50) + le16(20) + le16(entry.flags) + le16(entry.method) + le16(0) + le16(0)
            out += le32(crc) + le32(UInt32(entry.data.count)) + le32(UInt32(size)) + le16(UInt16(name.count)) + le16(0)
            out += name + entry.data
            central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(entry.flags) + le16(entry.method) + le16(0) + le16(0)
            central += le32(crc) + le32(UInt32(entry.data.count)) + le32(UInt32(size)) + le16(UInt16(name.count))
            central += le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(UInt32(offset)) + name
        }
        let centralOffset = out.count
        out += central
        out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(UInt16(entries.count)) + le16(UInt16(entries.count))
        out += le32(UInt32(central.count)) + le32(UInt32(centralOffset)) + le16(0)
        return out
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    private func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
}
