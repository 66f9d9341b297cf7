import ArgumentParser
import EAH
import EAHCheckpoint
import EAHCommandLine
import EAHRuntime

/// The calibration options `calibrate` and the main job share, and the run they drive.
struct CalibrationSettings: ParsableArguments {
    @Option(help: "The prompt for every image of a --data folder.")
    var prompt: String?

    @Option(help: "Decoder layers to calibrate, e.g. 0-3 or 0,2.")
    var layers = "0-3"

    @Option(help: "The sink threshold β.")
    var beta = 0.002

    func validate() throws {
        guard LayerList.parse(layers) != nil else { throw ValidationError("--layers '\(layers)' is not like 0-3 or 0,2") }
        guard beta > 0, beta < 1 else { throw ValidationError("--beta must be in (0, 1)") }
    }

    /// Calibrates `model` on the samples of `data` (every `shard.count`-th from `shard.index`
    /// when given), with a progress bar on a terminal.
    func calibrate(model: String, data: String, source: ModelSourceOptions, shard: (index: Int, count: Int)? = nil) throws -> CalibrationReport {
        let dataset = try CalibrationData(path: data, prompt: prompt)
        let indices = shard.map { dataset.shardIndices($0.index, of: $0.count) } ?? Array(dataset.samples.indices)
        let samples = indices.map { dataset.samples[$0] }
        let pipeline = try source.pipeline(model: model)
        let calibrator = try Calibrator(pipeline: pipeline, layers: LayerList.parse(layers) ?? [], beta: beta)
        let bar = ProgressBar(label: "calibrating", unit: .items("samples"))
        let statistics = try calibrator.run(samples, indices: indices) { bar.update(done: $0, total: $1) }
        bar.finish()
        return CalibrationReport(
            toolVersion: EAHVersion.current, modelLayout: pipeline.model.layoutName, modelPath: model, beta: beta,
            dataDigests: [dataset.digest], shards: shard.map { ["\($0.index)/\($0.count)"] } ?? [], statistics: statistics)
    }

    /// Writes `report` as JSON to `path` and its heatmap to `heatmap`.
    static func write(_ report: CalibrationReport, to path: String, heatmap: String, overwrite: Bool) throws {
        try TextFile.write(report.json.serialized + "\n", to: path, overwrite: overwrite)
        try TextFile.write(CalibrationHeatmap.svg(report), to: heatmap, overwrite: true)
    }

    /// "layer 0 → head 5, layer 1 → head 2" (empty when no layer had a winner).
    static func chosenHeads(_ report: CalibrationReport) -> String {
        report.chosenHeads.map { "layer \($0.layer) → head \($0.head)" }.joined(separator: ", ")
    }
}
