/// A storage named by a torch persistent id: `('storage', storage_type, key, location, numel)`
/// (zip format) or the legacy 6-tuple with `view_metadata`.
public struct PickleStorage: Sendable, Equatable {
    /// The storage type's global name, e.g. `FloatStorage` or `UntypedStorage`.
    public let typeName: String
    /// The record key (`data/<key>` in a zip; the cdata pointer text in legacy files).
    public let key: String
    /// `cpu`, `cuda:0`, ...; informational.
    public let location: String
    /// Elements of the storage type (bytes for `UntypedStorage`).
    public let elementCount: Int
    /// Legacy storage views: the view's key, its offset and size in elements of the root.
    public let view: View?

    public init(typeName: String, key: String, location: String, elementCount: Int, view: View?) {
        self.typeName = typeName
        self.key = key
        self.location = location
        self.elementCount = elementCount
        self.view = view
    }

    public struct View: Sendable, Equatable {
        public let key: String
        public let offset: Int
        public let count: Int

        public init(key: String, offset: Int, count: Int) {
            self.key = key
            self.offset = offset
            self.count = count
        }
    }
}
