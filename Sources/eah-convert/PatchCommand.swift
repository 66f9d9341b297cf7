import ArgumentParser
import EAH
import EAHCheckpoint
import EAHCommandLine
import EAHRuntime

/// `eah-convert patch MODEL (--report REPORT | --head L:H ... | --selection dynamic --layer L) -o BUNDLE`.
struct PatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch",
        abstract: "Write an EAH bundle: the model's weights, config, tokenizer and preprocessor files, and a manifest of its patches."
    )

    enum Selection: String, ExpressibleByArgument { case `static`, dynamic }

    @Argument(help: "The model (folder, checkpoint, index or text GGUF).")
    var model: String

    @Option(help: "The CLIP vision tower folder of an original LLaVA release.")
    var visionTower: String?

    @Option(help: "The mmproj GGUF that goes with a text-model GGUF.")
    var mmproj: String?

    @Option(help: "A calibration report: static heads from its chosen heads.")
    var report: String?

    @Option(help: "A static head as LAYER:HEAD (repeatable).")
    var head: [String] = []

    @Option(help: "static (from --report or --head) or dynamic (per input, the paper's).")
    var selection: Selection?

    @Option(help: "Layers for dynamic selection, e.g. 1 or 0,1.")
    var layer: String?

    @Option(help: "The sink threshold β (dynamic selection; recorded for static).")
    var beta = 0.002

    @OptionGroup var patch: PatchOptions

    @Option(name: .shortAndLong, help: "The bundle folder to write.")
    var output: String

    @OptionGroup var display: OutputOptions

    func validate() throws {
        let isDynamic = selection == .dynamic
        if isDynamic {
            guard report == nil, head.isEmpty else { throw ValidationError("dynamic selection takes --layer, not --report or --head") }
            guard let layer, LayerList.parse(layer) != nil else { throw ValidationError("dynamic selection needs --layer, e.g. --layer 1") }
            if patch.bake { throw ValidationError("--bake needs static heads (--report or --head)") }
        } else {
            guard (report != nil) != !head.isEmpty else { throw ValidationError("give --report REPORT or --head L:H (one of them), or --selection dynamic --layer L") }
            if layer != nil { throw ValidationError("--layer goes with --selection dynamic") }
            if parsedHeads == nil { throw ValidationError("--head takes LAYER:HEAD, e.g. --head 1:5") }
        }
        if !(beta > 0 && beta < 1) { throw ValidationError("--beta must be in (0, 1)") }
        if visionTower != nil, mmproj != nil { throw ValidationError("--vision-tower and --mmproj exclude each other") }
    }

    var parsedHeads: [(layer: Int, head: Int)]? {
        var pairs: [(Int, Int)] = []
        for text in head {
            let parts = text.split(separator: ":")
            guard parts.count == 2, let layer = Int(parts[0]), let head = Int(parts[1]), layer >= 0, head >= 0 else { return nil }
            pairs.append((layer, head))
        }
        return pairs
    }

    func run() throws {
        display.apply()
        var patches: [EAHLayerPatch]
        var calibration: EAHManifest.CalibrationProvenance?
        if selection == .dynamic, let layer, let layers = LayerList.parse(layer) {
            patches = layers.map { EAHLayerPatch(layer: $0, selection: .dynamic, beta: beta, phase: patch.phase ?? .prefill, targetHeads: patch.parsedTargets) }
        } else if let report {
            let calibrationReport = try CalibrationReport.read(report)
            patches = patch.staticPatches(calibrationReport.chosenHeads, beta: calibrationReport.beta)
            calibration = PatchOptions.provenance(calibrationReport)
            if patches.isEmpty {
                throw CheckpointError(path: report, problem: BundleProblem.badPatch("no calibrated layer had a sink above β; nothing to patch"))
            }
        } else {
            patches = patch.staticPatches(parsedHeads ?? [], beta: beta)
        }
        var request = BundleRequest(model: model, visionTower: visionTower, mmproj: mmproj, patches: patches, bake: patch.bake,
                                    calibration: calibration, format: patch.to, dtype: patch.dtype)
        request.tokenizerPre = patch.tokenizerPre
        let bar = ProgressBar(label: "writing bundle")
        let manifest = try BundleWriter.write(request, to: output, overwrite: patch.force) { bar.update(done: $0, total: $1) }
        bar.finish()
        print("wrote \(output): \(manifest.patches.count) patched layer(s)\(manifest.baked ? ", baked" : ""), \(manifest.weightFiles.count) weight file(s)")
    }
}
