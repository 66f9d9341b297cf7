import EAHCheckpoint

/// Why calibration, or a calibration report, cannot be used.
public enum CalibrationProblem: CheckpointProblem, Equatable {
    /// The data file or folder holds no usable sample.
    case noSamples
    /// A line of the data JSONL is not `{"image": path, "prompt": text}`.
    case badDataLine(line: Int, reason: String)
    /// A report file is not a valid eah calibration report.
    case badReport(String)
    /// Reports to merge disagree on what they measured.
    case incompatibleReports(String)
    case nothingToMerge
    /// `--shard I/N` is malformed.
    case badShard(String)
    /// A layer to calibrate does not exist in the model.
    case layerOutOfRange(layer: Int, layerCount: Int)

    public var message: String {
        switch self {
        case .noSamples: "holds no calibration samples"
        case .badDataLine(let line, let reason): "line \(line): \(reason)"
        case .badReport(let reason): "is not a usable calibration report: \(reason)"
        case .incompatibleReports(let reason): "cannot be merged: \(reason)"
        case .nothingToMerge: "no reports to merge"
        case .badShard(let text): "--shard '\(text)' is not I/N with 0 ≤ I < N"
        case .layerOutOfRange(let layer, let count): "layer \(layer) does not exist (the decoder has \(count) layers)"
        }
    }

    public var fix: String? {
        switch self {
        case .noSamples: "pass a JSONL of {\"image\": path, \"prompt\": text} lines, or a folder of .jpg/.png images with --prompt"
        case .badDataLine: "each line must be a JSON object with string fields \"image\" and \"prompt\""
        case .badReport: "pass a report written by eah-convert calibrate"
        case .incompatibleReports: "merge the disjoint shards of one calibration run (same model, --beta and --layers), each once"
        case .nothingToMerge: "pass the shard reports after --merge"
        case .badShard: "e.g. --shard 0/4 for the first of four shards"
        case .layerOutOfRange: "choose layers from 0 to the decoder's last layer, e.g. --layers 0-3"
        }
    }

    public var isUsageError: Bool {
        switch self {
        case .badShard, .layerOutOfRange, .nothingToMerge: true
        default: false
        }
    }
}
