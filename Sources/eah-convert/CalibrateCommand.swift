import ArgumentParser
import EAHCommandLine
import EAH
import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import EAHRuntime

/// `eah-convert calibrate MODEL --data DATA ... -o REPORT` and `calibrate --merge REPORT... -o REPORT`.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Count vision sinks per layer and head over a calibration set; write a JSON report and an SVG heatmap.",
        discussion: "With --merge, combine the reports of --shard runs into one, exactly."
    )

    @Argument(help: "The model (omit with --merge).")
    var model: String?

    @OptionGroup var source: ModelSourceOptions

    @Option(help: "A JSONL of {\"image\": path, \"prompt\": text} lines, or a folder of images with --prompt.")
    var data: String?

    @Option(help: "The prompt for every image of a --data folder.")
    var prompt: String?

    @Option(help: "Decoder layers to calibrate, e.g. 0-3 or 0,2.")
    var layers = "0-3"

    @Option(help: "The sink threshold β.")
    var beta = 0.002

    @Option(help: "Calibrate every N-th sample starting at I (0 ≤ I < N), as I/N.")
    var shard: String?

    @Option(parsing: .upToNextOption, help: "Merge these reports instead of calibrating.")
    var merge: [String] = []

    @Option(name: .shortAndLong, help: "The report to write (JSON); the heatmap goes beside it (.svg).")
    var output: String

    @Flag(help: "Overwrite existing outputs.")
    var force = false

    func validate() throws {
        if merge.isEmpty {
            guard model != nil else { throw ValidationError("give the MODEL to calibrate (or --merge REPORT...)") }
            guard data != nil else { throw ValidationError("--data is required to calibrate") }
            guard LayerList.parse(layers) != nil else { throw ValidationError("--layers '\(layers)' is not like 0-3 or 0,2") }
            guard beta > 0, beta < 1 else { throw ValidationError("--beta must be in (0, 1)") }
        } else if model != nil || data != nil || shard != nil {
            throw ValidationError("--merge takes only reports and -o")
        }
    }

    func run() throws {
        let report: CalibrationReport
        if !merge.isEmpty {
            report = try CalibrationReport.merge(try merge.map { path throws(CheckpointError) in try CalibrationReport.read(path) }, paths: merge)
        } else {
            report = try calibrate()
        }
        try TextFile.write(report.json.serialized + "\n", to: output, overwrite: force)
        let heatmap = Self.heatmapPath(for: output)
        try TextFile.write(CalibrationHeatmap.svg(report), to: heatmap, overwrite: true)
        let chosen = report.chosenHeads.map { "layer \($0.layer) → head \($0.head)" }.joined(separator: ", ")
        print("wrote \(output) (\(report.statistics.sampleCount) samples; \(chosen.isEmpty ? "no sinks above β" : chosen)) and heatmap \(heatmap)")
    }

    private func calibrate() throws -> CalibrationReport {
        guard let model, let data, let layerList = LayerList.parse(layers) else { throw ValidationError("missing arguments") }
        let shardIndex = try shard.map { text -> (Int, Int) in
            let parts = text.split(separator: "/")
            guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count > 0, (0..<count).contains(index) else {
                throw CheckpointError(path: text, problem: CalibrationProblem.badShard(text))
            }
            return (index, count)
        }
        let dataset = try CalibrationData(path: data, prompt: prompt)
        let samples = shardIndex.map { dataset.shard($0.0, of: $0.1) } ?? dataset.samples
        let pipeline = try source.pipeline(model: model)
        let calibrator = try Calibrator(pipeline: pipeline, layers: layerList, beta: beta)
        let bar = ProgressBar(label: "calibrating", unit: .items("samples"))
        let statistics = try calibrator.run(samples) { bar.update(done: $0, total: $1) }
        bar.finish()
        return CalibrationReport(
            toolVersion: EAHVersion.current, modelLayout: pipeline.model.weights.layout.rawValue, modelPath: model, beta: beta,
            dataDigests: [dataset.digest], shards: shardIndex.map { ["\($0.0)/\($0.1)"] } ?? [], statistics: statistics)
    }

    static func heatmapPath(for report: String) -> String {
        (report.hasSuffix(".json") ? String(report.dropLast(5)) : report) + ".svg"
    }
}
