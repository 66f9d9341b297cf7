import ArgumentParser
import EAH
import EAHCheckpoint
import EAHCommandLine
import EAHRuntime

/// The calibration options `calibrate` and the main job share, and the run they drive.
struct CalibrationSettings: ParsableArguments {
    @Option(help: "The prompt for every image of a --data folder.")
    var prompt: String?

    @Option(help: "Decoder layers to calibrate, e.g. 0-3 or 0,2 (default: 0-3).")
    var layers: String?

    @Option(help: "The sink threshold β (default: 0.002).")
    var beta: Double?

    /// Whether any calibration setting was given (refused where nothing is calibrated).
    var given: Bool { prompt != nil || layers != nil || beta != nil }

    /// The layers to calibrate.
    var layerList: [Int] { LayerList.parse(layers ?? "0-3") ?? [] }

    /// The sink threshold.
    var threshold: Double { beta ?? 0.002 }

    func validate() throws {
        if let layers, LayerList.parse(layers) == nil { throw ValidationError("--layers '\(layers)' is not like 0-3 or 0,2") }
        guard threshold > 0, threshold < 1 else { throw ValidationError("--beta must be in (0, 1)") }
    }

    /// Calibrates `model` on the samples of `data` (those of `shard` when given), with a
    /// progress bar on a terminal; warnings go to standard error.
    func calibrate(model: String, data: String, source: ModelSourceOptions, shard: Shard? = nil) throws -> CalibrationReport {
        let dataset = try CalibrationData(path: data, prompt: prompt)
        let indices = shard.map { dataset.shardIndices($0.index, of: $0.count) } ?? Array(dataset.samples.indices)
        let samples = indices.map { dataset.samples[$0] }
        let pipeline = try source.pipeline(model: model, forEAH: true)
        let calibrator = try Calibrator(pipeline: pipeline, layers: layerList, beta: threshold)
        let bar = ProgressBar(label: "calibrating", unit: .items("samples"))
        let statistics = try calibrator.run(samples, indices: indices) { bar.update(done: $0, total: $1) }
        bar.finish()
        let report = CalibrationReport(
            toolVersion: EAHVersion.current, modelLayout: pipeline.model.layoutName, modelPath: model,
            modelDigest: try ModelDigest.sha256(of: pipeline.model.weightCheckpoints), beta: threshold,
            dataDigests: [dataset.digest], shards: shard.map { [$0.description] } ?? [], statistics: statistics)
        Self.warn(report)
        return report
    }

    /// Prints the report's warnings on standard error.
    static func warn(_ report: CalibrationReport) {
        for warning in report.warnings { StandardStream.error.write("eah-convert: warning: \(TerminalText.line(warning))\n") }
    }

    /// Writes `report` as JSON to `path` and its heatmap to `heatmap`.
    static func write(_ report: CalibrationReport, to path: String, heatmap: String, overwrite: Bool) throws {
        try TextFile.write(report.json.pretty + "\n", to: path, overwrite: overwrite)
        try TextFile.write(CalibrationHeatmap.svg(report), to: heatmap, overwrite: true)
    }

    /// "layer 0 → head 5, layer 1 → head 2" (empty when no layer had a winner).
    static func chosenHeads(_ report: CalibrationReport) -> String {
        report.chosenHeads.map { "layer \($0.layer) → head \($0.head)" }.joined(separator: ", ")
    }
}
