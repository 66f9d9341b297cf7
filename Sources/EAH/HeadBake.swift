import EAHCore

/// Writes a static broadcast into q_proj/k_proj weights, so stock runtimes run it without code.
///
/// The chosen head's q rows (and bias) are copied over every query head, and its KV group's k
/// rows over every KV head: every head then computes the chosen head's attention map in every
/// step, which is EAH with phase `all`. Rows are copied in the stored type (quantized rows
/// block for block); GGUF's per-head row permutation keeps head blocks intact, so the same
/// copy is right there.
public enum HeadBake {
    /// Copies head block `source` over every block of `blockCount` equal blocks of rows.
    ///
    /// `bytes` holds `blockCount · rowsPerBlock` rows of `rowBytes` each.
    public static func broadcastBlock(_ bytes: inout [UInt8], source: Int, blockCount: Int, rowsPerBlock: Int, rowBytes: Int) {
        let blockBytes = rowsPerBlock * rowBytes
        guard blockCount > 0, bytes.count == blockCount * blockBytes, (0..<blockCount).contains(source) else { return }
        let chosen = Array(bytes[(source * blockBytes)..<((source + 1) * blockBytes)])
        for block in 0..<blockCount where block != source {
            bytes.replaceSubrange((block * blockBytes)..<((block + 1) * blockBytes), with: chosen)
        }
    }

    /// The KV head whose keys query head `head` reads.
    public static func kvHead(of head: Int, headCount: Int, kvHeadCount: Int) -> Int {
        head / max(1, headCount / kvHeadCount)
    }
}
