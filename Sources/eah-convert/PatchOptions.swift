import ArgumentParser
import EAHCommandLine
import EAH
import EAHCheckpoint


/// The bundle options `patch` and the main job share.
struct PatchOptions: ParsableArguments {
    @Option(help: "When EAH applies: prefill (the paper; the default) or all (decode steps too).")
    var phase: EAHLayerPatch.Phase?

    @Option(help: "Heads that receive the chosen map, e.g. 0,1,2 (default: all).")
    var targetHeads: String?

    @Flag(help: "Write the static broadcast into the q/k weights so stock runtimes run it (implies phase all).")
    var bake = false

    @Option(help: "Output format of the text weights (default: GGUF stays GGUF, others become safetensors).")
    var to: ConversionOptions.OutputFormat?

    @Option(help: "Element type of floating-point tensors: keep, f32, f16, bf16, q8_0, q4_0.")
    var dtype: ConversionOptions.TargetDType = .keep

    @Flag(help: "Replace an existing bundle.")
    var force = false

    @Option(help: ArgumentHelp("llama.cpp's layout: the byte-level BPE pre-tokenizer to declare (qwen2, llama-bpe, …) when llama.cpp's hash does not know the tokenizer.", valueName: "name"))
    var tokenizerPre: String?

    func validate() throws {
        if bake, phase == .prefill { throw ValidationError("--bake equals phase all; drop --phase prefill") }
        if let targetHeads, parsedTargets == nil { throw ValidationError("--target-heads '\(targetHeads)' is not like 0,1,2") }
    }

    var parsedTargets: [Int]? {
        guard let targetHeads else { return nil }
        let heads = targetHeads.split(separator: ",").compactMap { Int($0) }
        return heads.count == targetHeads.split(separator: ",").count && heads.allSatisfy { $0 >= 0 } && !heads.isEmpty ? heads : nil
    }

    /// Static patches for `(layer, head)` pairs.
    func staticPatches(_ heads: [(layer: Int, head: Int)], beta: Double) -> [EAHLayerPatch] {
        heads.map { EAHLayerPatch(layer: $0.layer, selection: .fixed(head: $0.head), beta: beta, phase: bake ? .all : phase ?? .prefill,
                                  targetHeads: parsedTargets) }
    }

    /// The calibration provenance a report gives a manifest.
    static func provenance(_ report: CalibrationReport) -> EAHManifest.CalibrationProvenance {
        let digest = report.dataDigests.count == 1 ? report.dataDigests[0] : FileDigest.sha256(Array(report.dataDigests.joined(separator: "\n").utf8))
        return EAHManifest.CalibrationProvenance(dataDigest: digest, sampleCount: report.statistics.sampleCount, beta: report.beta,
                                                 layers: report.statistics.summary)
    }
}
