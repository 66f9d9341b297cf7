import EAHCheckpoint
import EAHModel
import EAHRuntime
import Synchronization

/// The one model a server answers with, with and without EAH.
///
/// With EAH: the pipeline as loaded, with its attention hook (or with EAH baked into its
/// weights). Without: the same pipeline without the hook, or, for a baked bundle, the pipeline
/// with the original rows laid over, loaded on first use.
public final class ServedModel: Sendable {
    /// A pipeline and the hook its runs use.
    struct Variant: @unchecked Sendable {
        let pipeline: ModelPipeline
        let hook: AttentionHook?
    }

    /// The id `/v1/models` lists and responses name.
    public let name: String
    /// The pipeline that prepares prompts and images (tokenizer, template, preprocessor are the
    /// same with and without EAH).
    public let pipeline: ModelPipeline
    /// EAH applied by default; nil when the model has none (or the server runs without it).
    private let eahVariant: Variant?
    private let loadPlain: @Sendable () throws -> ModelPipeline
    private let plain: Mutex<Variant?>

    /// - Parameters:
    ///   - hook: the attention hook that applies EAH at run time (nil for none or baked);
    ///   - eahApplied: whether `pipeline` with `hook` applies EAH (a hook, or baked weights);
    ///   - plainPipeline: the model without EAH when that differs from `pipeline` without the
    ///     hook (a baked bundle's original rows); loaded once, when first asked for.
    public init(name: String, pipeline: ModelPipeline, hook: AttentionHook?, eahApplied: Bool,
                plainPipeline: (@Sendable () throws -> ModelPipeline)? = nil) {
        self.name = name
        self.pipeline = pipeline
        eahVariant = eahApplied ? Variant(pipeline: pipeline, hook: hook) : nil
        loadPlain = plainPipeline ?? { pipeline }
        plain = Mutex(eahApplied && plainPipeline != nil ? nil : Variant(pipeline: pipeline, hook: nil))
    }

    /// Whether requests get EAH unless they say `"eah": false`.
    public var appliesEAH: Bool { eahVariant != nil }

    /// The variant a request runs on (on the worker thread: may load the plain model).
    func variant(eah: Bool) throws -> Variant {
        if eah, let eahVariant { return eahVariant }
        if let loaded = plain.withLock({ $0 }) { return loaded }
        let loaded = Variant(pipeline: try loadPlain(), hook: nil)
        plain.withLock { $0 = loaded }
        return loaded
    }
}
