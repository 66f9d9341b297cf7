/// A tensor as torch's rebuild functions describe it: a storage plus a strided view.
///
/// Sizes, strides and offset are in elements and not yet validated against the storage
/// (`PyTorchReader` does that).
public struct PickleTensor: Sendable, Equatable {
    public let storage: PickleStorage
    public let storageOffset: Int
    public let size: [Int]
    public let stride: [Int]
    /// `_rebuild_tensor_v3`'s dtype argument (e.g. `float8_e4m3fn`); nil when the storage type
    /// determines the dtype.
    public let dtypeName: String?
    public let requiresGrad: Bool

    public init(storage: PickleStorage, storageOffset: Int, size: [Int], stride: [Int], dtypeName: String?, requiresGrad: Bool) {
        self.storage = storage
        self.storageOffset = storageOffset
        self.size = size
        self.stride = stride
        self.dtypeName = dtypeName
        self.requiresGrad = requiresGrad
    }
}
