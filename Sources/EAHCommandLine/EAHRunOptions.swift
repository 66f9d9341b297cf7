import ArgumentParser
import EAH
import EAHRuntime

/// How a run applies EAH: a bundle's patches by default, none with `--no-eah`, or dynamic
/// selection at `--eah-layer` on a plain model.
public struct EAHRunOptions: ParsableArguments {
    @Flag(help: "Run without EAH (a bundle's original model).")
    public var noEah = false

    @Option(help: "Apply dynamic EAH at these decoder layers of a plain model (experiments), e.g. 1 or 0,1.")
    public var eahLayer: String?

    @Option(help: "The sink threshold β for --eah-layer (default: 0.002).")
    public var eahBeta: Double?

    @Option(help: "prefill (the paper) or all (decode steps too), for --eah-layer (default: prefill).")
    public var eahPhase: EAHLayerPatch.Phase?

    /// Whether any EAH option was given (refused where no model runs).
    public var given: Bool { noEah || eahLayer != nil || eahBeta != nil || eahPhase != nil }

    /// The sink threshold of dynamic EAH.
    public var beta: Double { eahBeta ?? 0.002 }
    /// The phase of dynamic EAH.
    public var phase: EAHLayerPatch.Phase { eahPhase ?? .prefill }

    public init() {}

    public func validate() throws {
        if let eahLayer, LayerList.parse(eahLayer) == nil { throw ValidationError("--eah-layer '\(eahLayer)' is not like 1 or 0,1") }
        if eahLayer != nil, noEah { throw ValidationError("--eah-layer and --no-eah exclude each other") }
        if eahLayer == nil, eahBeta != nil || eahPhase != nil {
            throw ValidationError("--eah-beta and --eah-phase apply to --eah-layer only; add --eah-layer or drop them")
        }
        if !(beta > 0 && beta < 1) { throw ValidationError("--eah-beta must be in (0, 1)") }
    }

    /// What to load and which hook to run for `path` (a model or a bundle).
    public func modelSource(path: String, options: ModelSourceOptions) throws -> ModelSource {
        try ModelSource(path: path, visionTower: options.visionTower, mmproj: options.mmproj, noEAH: noEah,
                        dynamicLayers: eahLayer.flatMap(LayerList.parse) ?? [], beta: beta, phase: phase)
    }
}
