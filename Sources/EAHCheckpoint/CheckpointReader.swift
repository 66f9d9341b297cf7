/// Read access to any checkpoint: the tensor list, metadata and zero-copy tensor bytes.
///
/// Opening a reader validates the whole header (sizes overflow-checked, byte ranges inside the
/// file) before any tensor data is touched. Readers are immutable after opening.
public protocol CheckpointReader: AnyObject, Sendable {
    /// The format, detected from the file's bytes.
    var format: CheckpointFormat { get }
    /// The path the checkpoint was opened from (a file, or an index file for shards).
    var path: String { get }
    /// Every tensor, in file order (shard by shard for sharded checkpoints).
    var tensors: [TensorInfo] { get }
    /// Metadata entries in file order.
    var metadata: [MetadataEntry] { get }
    /// The dense bytes of `tensor`, zero-copy where the file stores them densely.
    func bytes(of tensor: TensorInfo) throws(CheckpointError) -> TensorBytes
}

extension CheckpointReader {
    /// The tensor called `name`, if any.
    public func tensor(named name: String) -> TensorInfo? {
        tensors.first { $0.name == name }
    }

    /// The value of metadata key `key`, if present.
    public func metadataValue(_ key: String) -> MetadataValue? {
        metadata.first { $0.key == key }?.value
    }
}
