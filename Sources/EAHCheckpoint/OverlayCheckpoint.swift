/// A checkpoint whose tensors are `base`'s, with the same-named tensors of `overlay` in their
/// place (e.g. a baked EAH bundle's original q/k rows over its patched weights).
public final class OverlayCheckpoint: CheckpointReader {
    public let base: any CheckpointReader
    public let overlay: any CheckpointReader
    public let tensors: [TensorInfo]

    /// Every overlay tensor must exist in `base` with the same shape and type, unless `partial`
    /// (then overlay tensors `base` lacks are ignored: `base` is one shard of several).
    public init(base: any CheckpointReader, overlay: any CheckpointReader, partial: Bool = false) throws(CheckpointError) {
        self.base = base
        self.overlay = overlay
        var replacements: [String: TensorInfo] = [:]
        for tensor in overlay.tensors {
            guard let original = base.tensor(named: tensor.name) else {
                if partial { continue }
                throw CheckpointError(path: overlay.path, problem: OverlayProblem.unmatchedTensor(tensor.name))
            }
            guard original.shape == tensor.shape, original.dtype == tensor.dtype else {
                throw CheckpointError(path: overlay.path, problem: OverlayProblem.unmatchedTensor(tensor.name))
            }
            replacements[tensor.name] = tensor
        }
        tensors = base.tensors.map { replacements[$0.name] ?? $0 }
    }

    public var format: CheckpointFormat { base.format }
    public var path: String { base.path }
    public var metadata: [MetadataEntry] { base.metadata }

    public func bytes(of tensor: TensorInfo) throws(CheckpointError) -> TensorBytes {
        if overlay.tensor(named: tensor.name) == tensor { return try overlay.bytes(of: tensor) }
        return try base.bytes(of: tensor)
    }
}

/// Why an overlay does not fit its base checkpoint.
public enum OverlayProblem: CheckpointProblem, Equatable {
    case unmatchedTensor(String)

    public var message: String {
        switch self {
        case .unmatchedTensor(let name): "tensor '\(name)' has no counterpart of the same shape and type in the model"
        }
    }

    public var fix: String? { "use the original-rows file that came with this bundle" }
}
