import EAH
import EAHCheckpoint
import EAHRuntime

/// What an `eval` run measures, recorded in its result: everything that changes the figures
/// (`run`, compared before a merge) and where the files were (`paths`, not compared).
struct EvaluationRecord {
    let run: JSONValue
    let paths: JSONValue

    init(command: EvalCommand, model: String, data: String, metric: EvalCommand.Metric, source: ModelSource, pipeline: ModelPipeline,
         selected: Int, maxTokens: Int, prompt: String) throws {
        let loaded = pipeline.model
        var members: [(String, JSONValue)] = [
            ("tool_version", .string(EAHVersion.current)),
            ("model", .object([("digest", .string(try ModelDigest.sha256(of: loaded.weightCheckpoints))), ("family", .string(loaded.family)),
                               ("layout", .string(loaded.layoutName))])),
            ("eah", Self.eah(command: command, source: source)),
            ("data", .object([("digest", .string(try FileDigest.sha256(path: data))), ("selected_images", .integer(selected)),
                              ("limit", command.limit.map(JSONValue.integer) ?? .null)])),
            ("metric", .string(metric.rawValue)),
            ("prompt", .string(prompt)),
            ("max_tokens", .integer(maxTokens)),
            ("decoding", .object([("temperature", .integer(0)), ("method", .string("greedy"))])),
        ]
        switch metric {
        case .chair:
            members.append(("synonyms", .string(try command.synonyms.map { path throws(CheckpointError) in "sha256:" + (try FileDigest.sha256(path: path)) }
                                                 ?? "chair")))
            members.append(("reference_captions", try command.referenceCaptions.map { path throws(CheckpointError) in
                .string("sha256:" + (try FileDigest.sha256(path: path)))
            } ?? .null))
        case .pope:
            members += [("seed", .unsigned(command.seed ?? 0)), ("pope_sampling", .string(command.popeSampling.rawValue))]
        }
        run = .object(members)
        paths = .object([("model", .string(model)), ("data", .string(data)), ("images", command.images.map(JSONValue.string) ?? .null)])
    }

    /// How EAH was applied: not at all, a bundle's patches (baked or at run time), or dynamic
    /// selection at `--eah-layer`.
    static func eah(command: EvalCommand, source: ModelSource) -> JSONValue {
        if command.eah.noEah { return .object([("applied", .bool(false)), ("source", .string(source.bundle == nil ? "none" : "bundle, --no-eah"))]) }
        if let bundle = source.bundle {
            return .object([("applied", .bool(true)), ("source", .string("bundle")), ("baked", .bool(bundle.manifest.baked)),
                            ("patches", .array(bundle.manifest.patches.map(\.json)))])
        }
        guard let hook = source.hook else { return .object([("applied", .bool(false)), ("source", .string("none"))]) }
        return .object([("applied", .bool(true)), ("source", .string("--eah-layer")),
                        ("patches", .array(hook.patches.keys.sorted().compactMap { hook.patches[$0]?.json }))])
    }
}
