import ArgumentParser
import EAHCommandLine
import EAH
import EAHCheckpoint
import EAHCore
import EAHRuntime

/// `eah-convert MODEL --data DATA -o BUNDLE`: the main job, calibrate and then patch.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Calibrate a model on image+prompt samples and write an EAH bundle (the default command).",
        discussion: "eah-convert MODEL --data DATA -o BUNDLE is the same as eah-convert bundle MODEL --data DATA -o BUNDLE."
    )

    @Argument(help: "The model (folder, checkpoint, index or text GGUF).")
    var model: String

    @OptionGroup var source: ModelSourceOptions

    @Option(help: "A JSONL of {\"image\": path, \"prompt\": text} lines, or a folder of images with --prompt.")
    var data: String

    @OptionGroup var calibration: CalibrationSettings

    @OptionGroup var patch: PatchOptions

    @Option(name: .shortAndLong, help: "The bundle folder to write.")
    var output: String

    @OptionGroup var display: OutputOptions

    func run() throws {
        display.apply()
        let beta = calibration.threshold
        let report = try calibration.calibrate(model: model, data: data, source: source)
        let patches = patch.staticPatches(report.chosenHeads, beta: beta)
        guard !patches.isEmpty else {
            throw CheckpointError(path: data, problem: BundleProblem.badPatch("no calibrated layer had a sink above β = \(beta); nothing to patch (try a lower --beta)"))
        }
        var request = BundleRequest(model: model, visionTower: source.visionTower, mmproj: source.mmproj, patches: patches, bake: patch.bake,
                                    calibration: PatchOptions.provenance(report), format: patch.to, dtype: patch.dtype)
        request.tokenizerPre = patch.tokenizerPre
        // Inside the bundle before it is renamed into place, so an interrupted run leaves all or nothing.
        request.extraFiles = [("calibration.json", report.json.pretty + "\n"), ("calibration.svg", CalibrationHeatmap.svg(report))]
        let writing = ProgressBar(label: "writing bundle")
        let manifest = try BundleWriter.write(request, to: output, overwrite: patch.force) { writing.update(done: $0, total: $1) }
        writing.finish()
        let chosen = CalibrationSettings.chosenHeads(report)
        print("calibrated \(report.statistics.sampleCount) samples (\(chosen)); wrote \(output) (heatmap: \(output)/calibration.svg)\(manifest.baked ? ", baked" : "")")
    }
}
