/// A value produced by `PickleMachine`: plain Python data, references to allowlisted globals,
/// and the tensors and storages torch's rebuild functions describe. Nothing is ever executed.
public indirect enum PickleValue: Sendable, Equatable {
    case none
    case bool(Bool)
    /// An integer that fits 64 bits.
    case int(Int)
    /// An integer wider than 64 bits: little-endian two's complement bytes as stored (LONG1/LONG4).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    /// A dict or OrderedDict; keys in insertion order (a repeated key keeps its first position).
    case dict([(key: PickleValue, value: PickleValue)])
    case set([PickleValue])
    /// A reference to an allowlisted global that was not called (a dtype, a storage type, ...).
    case global(module: String, name: String)
    /// A storage named by a persistent id.
    case storage(PickleStorage)
    /// A tensor described by `_rebuild_tensor*` / `_rebuild_parameter*`.
    case tensor(PickleTensor)

    public static func == (lhs: PickleValue, rhs: PickleValue) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.bigInt(let a), .bigInt(let b)): a == b
        case (.float(let a), .float(let b)): a == b || (a.isNaN && b.isNaN)
        case (.string(let a), .string(let b)): a == b
        case (.bytes(let a), .bytes(let b)): a == b
        case (.tuple(let a), .tuple(let b)), (.list(let a), .list(let b)), (.set(let a), .set(let b)): a == b
        case (.dict(let a), .dict(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.global(let m1, let n1), .global(let m2, let n2)): m1 == m2 && n1 == n2
        case (.storage(let a), .storage(let b)): a == b
        case (.tensor(let a), .tensor(let b)): a == b
        default: false
        }
    }

    /// The value for string key `key` of a dict.
    public subscript(key: String) -> PickleValue? {
        guard case .dict(let entries) = self else { return nil }
        return entries.first { $0.key == .string(key) }?.value
    }

    /// A short description of the value's type, for error messages.
    public var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int, .bigInt: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .set: "set"
        case .global(let module, let name): "\(module).\(name)"
        case .storage: "storage"
        case .tensor: "tensor"
        }
    }
}
