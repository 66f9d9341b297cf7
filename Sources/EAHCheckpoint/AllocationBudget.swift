/// The memory a reader may spend on what it builds from one file: `floor` plus `perByte` times
/// the file's size, never more than `cap`.
///
/// Structural limits (nesting, counts against the bytes present) bound each structure; this
/// bounds their sum, so a small file cannot make a reader allocate out of proportion to it.
/// Readers charge the bytes of the values they build (an estimate of what those values hold:
/// their in-memory size and the bytes of their strings, with shared values counted each time
/// they are used) and refuse the file once the budget is spent.
public struct AllocationBudget: Sendable, Equatable {
    /// The most this file's reader may charge.
    public let limit: Int
    /// What has been charged so far.
    public private(set) var used = 0

    public init(fileSize: Int, perByte: Int, floor: Int, cap: Int) {
        let (scaled, overflow) = max(0, fileSize).multipliedReportingOverflow(by: perByte)
        let (sum, overflowSum) = scaled.addingReportingOverflow(floor)
        limit = overflow || overflowSum ? cap : min(cap, sum)
    }

    /// A budget of exactly `limit` bytes (tests, and readers with a fixed allowance).
    public init(limit: Int) {
        self.limit = limit
    }

    /// Charges `bytes`; false (and nothing charged) when that would go past `limit`.
    public mutating func charge(_ bytes: Int) -> Bool {
        guard bytes <= limit - used else { return false }
        used += bytes
        return true
    }

    /// JSON text (configs, indexes, tokenizer.json, safetensors headers): 64 MiB plus 16 bytes
    /// per byte of text, at most 2 GiB. Real files build values a few times their size.
    public static func json(size: Int) -> AllocationBudget {
        AllocationBudget(fileSize: size, perByte: 16, floor: 64 << 20, cap: 2 << 30)
    }

    /// A pickle (`data.pkl`, a legacy checkpoint): 64 MiB plus 64 bytes per pickle byte, at most
    /// 1 GiB. A checkpoint's pickle holds names and shapes, a few times its own size.
    public static func pickle(size: Int) -> AllocationBudget {
        AllocationBudget(fileSize: size, perByte: 64, floor: 64 << 20, cap: 1 << 30)
    }

    /// A SentencePiece tokenizer.model, as protobuf-c unpacks it: 64 MiB plus 16 bytes per byte,
    /// at most 2 GiB. A real model's pieces take a few bytes of structures per byte.
    public static func tokenizerModel(size: Int) -> AllocationBudget {
        AllocationBudget(fileSize: size, perByte: 16, floor: 64 << 20, cap: 2 << 30)
    }
}
