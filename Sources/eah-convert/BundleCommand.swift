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

    @Option(help: "The prompt for every image of a --data folder.")
    var prompt: String?

    @Option(help: "Decoder layers to calibrate, e.g. 0-3.")
    var layers = "0-3"

    @Option(help: "The sink threshold β.")
    var beta = 0.002

    @OptionGroup var patch: PatchOptions

    @Option(name: .shortAndLong, help: "The bundle folder to write.")
    var output: String

    func validate() throws {
        guard LayerList.parse(layers) != nil else { throw ValidationError("--layers '\(layers)' is not like 0-3 or 0,2") }
        guard beta > 0, beta < 1 else { throw ValidationError("--beta must be in (0, 1)") }
    }

    func run() throws {
        guard let layerList = LayerList.parse(layers) else { return }
        let dataset = try CalibrationData(path: data, prompt: prompt)
        let pipeline = try source.pipeline(model: model)
        let calibrator = try Calibrator(pipeline: pipeline, layers: layerList, beta: beta)
        let bar = ProgressBar(label: "calibrating", unit: .items("samples"))
        let statistics = try calibrator.run(dataset.samples) { bar.update(done: $0, total: $1) }
        bar.finish()
        let report = CalibrationReport(toolVersion: EAHVersion.current, modelLayout: pipeline.model.weights.layout.rawValue, modelPath: model,
                                       beta: beta, dataDigests: [dataset.digest], shards: [], statistics: statistics)
        let patches = patch.staticPatches(report.chosenHeads, beta: beta)
        guard !patches.isEmpty else {
            throw CheckpointError(path: data, problem: BundleProblem.badPatch("no calibrated layer had a sink above β = \(beta); nothing to patch (try a lower --beta)"))
        }
        let request = BundleRequest(model: model, visionTower: source.visionTower, mmproj: source.mmproj, patches: patches, bake: patch.bake,
                                    calibration: PatchOptions.provenance(report), format: patch.to, dtype: patch.dtype)
        let writing = ProgressBar(label: "writing bundle")
        let manifest = try BundleWriter.write(request, to: output, overwrite: patch.force) { writing.update(done: $0, total: $1) }
        writing.finish()
        try TextFile.write(report.json.serialized + "\n", to: output + "/calibration.json", overwrite: true)
        try TextFile.write(CalibrationHeatmap.svg(report), to: output + "/calibration.svg", overwrite: true)
        let chosen = report.chosenHeads.map { "layer \($0.layer) → head \($0.head)" }.joined(separator: ", ")
        print("calibrated \(statistics.sampleCount) samples (\(chosen)); wrote \(output) (heatmap: \(output)/calibration.svg)\(manifest.baked ? ", baked" : "")")
    }
}
