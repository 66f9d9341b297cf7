import ArgumentParser
import EAH
import EAHCheckpoint
import EAHModel
import EAHRuntime

/// `eah-convert inspect PATH [--json]`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's format, weight layout, metadata and tensors."
    )

    @Argument(help: "A checkpoint file, a model folder, an index .json file, or an EAH bundle (its manifest is shown too).")
    var path: String

    @Flag(help: "Print a JSON document ({\"schema\": 1, ...}) instead of a listing.")
    var json = false

    @Flag(help: "Do not check a bundle's weight files against its manifest (the output says so).")
    var noVerify = false

    /// The layout line: the model's naming, and for a GGUF whether llama.cpp can load it.
    static func layout(_ reader: any CheckpointReader) -> String {
        let layout = ModelFamilies.layoutDescription(reader)
        return LlamaCppLayoutReport(reader).map { "\(layout) (\($0.text))" } ?? layout
    }

    /// The JSON report, with `llama_cpp` (`LlamaCppLayoutReport.json`) for a GGUF.
    static func json(_ reader: any CheckpointReader) -> [(String, JSONValue)] {
        guard case .object(var fields) = CheckpointReport.json(reader, layout: ModelFamilies.layoutDescription(reader)) else { return [] }
        if let report = LlamaCppLayoutReport(reader) { fields.append(("llama_cpp", report.json)) }
        return fields
    }

    func run() throws {
        try EAHBundle.refuseDamagedBundle(path)
        if EAHBundle.isBundle(path) {
            let bundle = try EAHBundle(path: path, verify: !noVerify)
            let reader = try Checkpoint.open(bundle.modelPath)
            let verified = noVerify ? "not verified (--no-verify)"
                : "verified: \(bundle.manifest.weightFiles.count) weight files match the manifest's SHA-256"
            if json {
                var fields = Self.json(reader)
                fields.append(("manifest", bundle.manifest.json))
                fields.append(("verified", .bool(!noVerify)))
                print(JSONValue.object(fields).serialized)
            } else {
                print(bundle.manifest.text + "\n" + verified + "\n\n" + CheckpointReport.text(reader, layout: Self.layout(reader)))
            }
            return
        }
        let reader = try Checkpoint.open(path)
        print(json ? JSONValue.object(Self.json(reader)).serialized : CheckpointReport.text(reader, layout: Self.layout(reader)))
    }
}
