import EAHCheckpoint

/// Writes small text outputs (reports, heatmaps) through `AtomicOutputFile`.
public enum TextFile {
    public static func write(_ text: String, to path: String, overwrite: Bool) throws(CheckpointError) {
        let file = try AtomicOutputFile(path: path, overwrite: overwrite)
        try file.write(Array(text.utf8))
        try file.commit()
    }
}
