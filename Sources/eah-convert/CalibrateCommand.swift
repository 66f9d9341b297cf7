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

    @OptionGroup var calibration: CalibrationSettings

    @Option(help: "Calibrate every N-th sample starting at I (0 ≤ I < N), as I/N.")
    var shard: String?

    @Option(parsing: .upToNextOption, help: "Merge these reports instead of calibrating.")
    var merge: [String] = []

    @Option(name: .shortAndLong, help: "The report to write (JSON); the heatmap goes beside it (.svg).")
    var output: String

    @Flag(help: "Overwrite existing outputs.")
    var force = false

    @OptionGroup var display: OutputOptions

    func validate() throws {
        if output.lowercased().hasSuffix(".svg") {
            throw ValidationError("-o names the JSON report and the heatmap goes beside it as .svg: give -o \(output.dropLast(4)).json")
        }
        if merge.isEmpty {
            guard model != nil else { throw ValidationError("give the MODEL to calibrate (or --merge REPORT...)") }
            guard data != nil else { throw ValidationError("--data is required to calibrate") }
        } else if model != nil || data != nil || shard != nil || calibration.given || source.given {
            throw ValidationError("--merge takes only reports, -o and --force: the model, data and calibration settings come from the reports")
        }
        if let model { try source.check(model: model) }
    }

    func run() throws {
        display.apply()
        let report: CalibrationReport
        if !merge.isEmpty {
            report = try CalibrationReport.merge(try merge.map { path throws(CheckpointError) in try CalibrationReport.read(path) }, paths: merge)
            CalibrationSettings.warn(report)
        } else {
            report = try calibrate()
        }
        let heatmap = Self.heatmapPath(for: output)
        try CalibrationSettings.write(report, to: output, heatmap: heatmap, overwrite: force)
        let chosen = CalibrationSettings.chosenHeads(report)
        print("wrote \(output) (\(report.statistics.sampleCount) samples; \(chosen.isEmpty ? "no sinks above β" : chosen)) and heatmap \(heatmap)")
    }

    private func calibrate() throws -> CalibrationReport {
        guard let model, let data else { throw ValidationError("missing arguments") }
        let shardIndex = try shard.map { text in
            guard let shard = Shard(text) else { throw CheckpointError(path: text, problem: CalibrationProblem.badShard(text)) }
            return shard
        }
        return try calibration.calibrate(model: model, data: data, source: source, shard: shardIndex)
    }

    static func heatmapPath(for report: String) -> String {
        (report.hasSuffix(".json") ? String(report.dropLast(5)) : report) + ".svg"
    }
}
