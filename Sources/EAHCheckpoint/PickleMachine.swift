/// A restricted unpickler for torch checkpoints that never imports or executes anything.
///
/// It implements the opcodes of protocol 2 that torch's weights-only unpickler accepts, plus
/// the protocol 4/5 framing, string, bytes and memo opcodes. GLOBAL/STACK_GLOBAL resolve only
/// names on a fixed allowlist (torch rebuild functions, storage types, dtypes, `torch.Size`,
/// `collections.OrderedDict`, `_codecs.encode`); any other global — `posix.system`,
/// `builtins.eval`, ... — throws `PickleProblem.forbiddenGlobal` at once. REDUCE/NEWOBJ only
/// evaluate those callables, with strict arity and type checks, into `PickleValue`s. Stack,
/// memo, container sizes and nesting are capped.
///
/// `bytes` must stay valid while `load()` runs. After `load()`, `offset` is just past STOP (a
/// legacy checkpoint is several pickles in a row) and `storages` lists every persistent id
/// seen, in order.
public struct PickleMachine {
    public static let maximumStack = 1 << 22
    public static let maximumMarks = 10_000
    public static let maximumMemo = 1 << 24
    public static let maximumContainer = 1 << 24
    public static let maximumNesting = 512
    /// Total values the machine may produce when turning its graph into `PickleValue`s: at most
    /// `valuesPerByte` per pickle byte (at least `minimumValueBudget`), never above this. A
    /// memo-sharing "billion laughs" pickle expands exponentially; real checkpoints produce a
    /// few values per hundred bytes.
    public static let maximumValues = 1 << 26
    public static let valuesPerByte = 16
    public static let minimumValueBudget = 1 << 16
    /// The bytes the produced values may hold in all (`AllocationBudget.pickle(size:)` of the
    /// pickle): a shared string referenced over and over counts each time, as a reader of the
    /// values would hold it.
    private var allocation: AllocationBudget

    private let bytes: UnsafeRawBufferPointer
    /// The offset of the next opcode; after `load()`, just past STOP.
    public private(set) var offset: Int
    /// Every storage referenced by a persistent id, in order of appearance (repeats included).
    public private(set) var storages: [PickleStorage] = []

    private indirect enum Node {
        case value(PickleValue)
        /// Items, and the tuple nesting depth (capped at `maximumNesting`: a deep chain of
        /// tuples would overflow the stack when it is freed, which is recursive).
        case tuple([Node], depth: Int)
        /// A mutable container (list, dict, set) in `containers`.
        case container(Int)
    }

    private enum ContainerKind { case list, dict, set }

    private struct Container {
        var kind: ContainerKind
        var items: [Node] = []
        var keys: [Node] = []
        var positions: [String: Int] = [:]
    }

    private var stack: [Node] = []
    private var marks: [Int] = []
    private var memo: [Int: Node] = [:]
    private var containers: [Container] = []
    private var budget: Int
    private let valueLimit: Int
    private var opcodeOffset = 0

    public init(bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
        let (scaled, overflow) = bytes.count.multipliedReportingOverflow(by: Self.valuesPerByte)
        valueLimit = overflow ? Self.maximumValues : min(Self.maximumValues, max(Self.minimumValueBudget, scaled))
        budget = valueLimit
        allocation = .pickle(size: bytes.count)
    }

    /// Unpickles one value from a byte array.
    public static func load(_ data: [UInt8]) throws(PickleProblem) -> PickleValue {
        let result: Result<PickleValue, PickleProblem> = data.withUnsafeBytes { raw in
            var machine = PickleMachine(bytes: raw)
            do throws(PickleProblem) { return .success(try machine.load()) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Runs the pickle up to STOP and returns its value.
    public mutating func load() throws(PickleProblem) -> PickleValue {
        stack.removeAll()
        marks.removeAll()
        memo.removeAll()
        containers.removeAll()
        while true {
            guard offset < bytes.count, offset >= 0 else { throw .missingStop }
            opcodeOffset = offset
            let opcode = bytes[offset]
            offset += 1
            if opcode == 0x2E {  // STOP
                guard stack.count == 1, marks.isEmpty else { throw .badStop(stackCount: stack.count) }
                return try materialize(stack[0], depth: 0)
            }
            try step(opcode)
            guard stack.count <= Self.maximumStack else { throw .stackTooDeep(limit: Self.maximumStack) }
        }
    }

    // MARK: Opcodes

    private mutating func step(_ opcode: UInt8) throws(PickleProblem) {
        switch opcode {
        case 0x80:  // PROTO
            let version = Int(try readByte("PROTO"))
            guard version <= 5 else { throw .unsupportedProtocol(version) }
        case 0x95:  // FRAME: framing only, the payload follows inline
            _ = try readInteger(UInt64.self, "FRAME")
        case 0x28:  // MARK
            guard marks.count < Self.maximumMarks else { throw .nestingTooDeep(limit: Self.maximumMarks) }
            marks.append(stack.count)
        case 0x31:  // POP_MARK
            _ = try popMark("POP_MARK")
        case 0x30:  // POP
            _ = try pop("POP")
        case 0x32:  // DUP
            let top = try pop("DUP")
            stack.append(top)
            stack.append(top)
        case 0x4E: push(.none)
        case 0x88: push(.bool(true))
        case 0x89: push(.bool(false))
        case 0x4A: push(.int(Int(try readInteger(Int32.self, "BININT"))))
        case 0x4B: push(.int(Int(try readByte("BININT1"))))
        case 0x4D: push(.int(Int(try readInteger(UInt16.self, "BININT2"))))
        case 0x8A:  // LONG1
            let count = Int(try readByte("LONG1"))
            push(Self.long(try readBytes(count, "LONG1")))
        case 0x8B:  // LONG4
            let count = Int(try readInteger(Int32.self, "LONG4"))
            guard count >= 0 else { throw .truncated(opcode: "LONG4", offset: opcodeOffset) }
            push(Self.long(try readBytes(count, "LONG4")))
        case 0x47:  // BINFLOAT: big-endian double
            push(.float(Double(bitPattern: UInt64(bigEndian: try readRaw(UInt64.self, "BINFLOAT")))))
        case 0x58: push(.string(try readString(Int(try readInteger(UInt32.self, "BINUNICODE")), "BINUNICODE")))
        case 0x8C: push(.string(try readString(Int(try readByte("SHORT_BINUNICODE")), "SHORT_BINUNICODE")))
        case 0x8D: push(.string(try readString(try readLength64("BINUNICODE8"), "BINUNICODE8")))
        case 0x55: push(.string(try readString(Int(try readByte("SHORT_BINSTRING")), "SHORT_BINSTRING")))
        case 0x54:  // BINSTRING
            let count = Int(try readInteger(Int32.self, "BINSTRING"))
            guard count >= 0 else { throw .truncated(opcode: "BINSTRING", offset: opcodeOffset) }
            push(.string(try readString(count, "BINSTRING")))
        case 0x42: push(.bytes(Array(try readBytes(Int(try readInteger(UInt32.self, "BINBYTES")), "BINBYTES"))))
        case 0x43: push(.bytes(Array(try readBytes(Int(try readByte("SHORT_BINBYTES")), "SHORT_BINBYTES"))))
        case 0x8E: push(.bytes(Array(try readBytes(try readLength64("BINBYTES8"), "BINBYTES8"))))
        case 0x29: stack.append(.tuple([], depth: 1))
        case 0x74: stack.append(try tuple(try popMark("TUPLE")))
        case 0x85: stack.append(try tuple(try pop(1, "TUPLE1")))
        case 0x86: stack.append(try tuple(try pop(2, "TUPLE2")))
        case 0x87: stack.append(try tuple(try pop(3, "TUPLE3")))
        case 0x5D: try newContainer(.list, items: [])
        case 0x6C: try newContainer(.list, items: try popMark("LIST"))
        case 0x7D: try newContainer(.dict, items: [])
        case 0x64:  // DICT
            let items = try popMark("DICT")
            try newContainer(.dict, items: [])
            try setItems(items, on: stack[stack.count - 1], "DICT")
        case 0x8F: try newContainer(.set, items: [])
        case 0x91:  // FROZENSET
            let items = try popMark("FROZENSET")
            try newContainer(.set, items: items)
        case 0x61:  // APPEND
            let item = try pop("APPEND")
            try append([item], to: try peek("APPEND"), "APPEND")
        case 0x65:  // APPENDS
            let items = try popMark("APPENDS")
            try append(items, to: try peek("APPENDS"), "APPENDS")
        case 0x90:  // ADDITEMS
            let items = try popMark("ADDITEMS")
            let target = try peek("ADDITEMS")
            guard case .container(let id) = target, containers[id].kind == .set else {
                throw .forbiddenAppend(target: kind(of: target), offset: opcodeOffset)
            }
            try grow(id, by: items.count)
            containers[id].items += items
        case 0x73:  // SETITEM
            let pair = try pop(2, "SETITEM")
            try setItems(pair, on: try peek("SETITEM"), "SETITEM")
        case 0x75:  // SETITEMS
            let items = try popMark("SETITEMS")
            try setItems(items, on: try peek("SETITEMS"), "SETITEMS")
        case 0x71: try put(Int(try readByte("BINPUT")))
        case 0x72: try put(Int(try readInteger(UInt32.self, "LONG_BINPUT")))
        case 0x94: try put(memo.count)  // MEMOIZE
        case 0x68: try get(Int(try readByte("BINGET")))
        case 0x6A: try get(Int(try readInteger(UInt32.self, "LONG_BINGET")))
        case 0x63:  // GLOBAL
            let module = try readLine("GLOBAL")
            let name = try readLine("GLOBAL")
            push(try Self.resolve(module: module, name: name))
        case 0x93:  // STACK_GLOBAL
            let pair = try pop(2, "STACK_GLOBAL")
            guard case .value(.string(let module)) = pair[0], case .value(.string(let name)) = pair[1] else {
                throw .invalidGlobalName(offset: opcodeOffset)
            }
            push(try Self.resolve(module: module, name: name))
        case 0x52:  // REDUCE
            let arguments = try pop("REDUCE")
            let callable = try pop("REDUCE")
            stack.append(try call(callable, arguments, "REDUCE"))
        case 0x81:  // NEWOBJ
            let arguments = try pop("NEWOBJ")
            let type = try pop("NEWOBJ")
            guard case .value(.global("collections", "OrderedDict")) = type else {
                throw .forbiddenCall(target: kind(of: type), offset: opcodeOffset)
            }
            stack.append(try call(type, arguments, "NEWOBJ"))
        case 0x62:  // BUILD: state is kept only by OrderedDict (ignored) and tensors (ignored)
            let state = try pop("BUILD")
            let target = try peek("BUILD")
            switch target {
            case .container(let id) where containers[id].kind == .dict: break
            case .value(.tensor): break
            default: throw .forbiddenBuild(target: kind(of: target), offset: opcodeOffset)
            }
            _ = state
        case 0x51:  // BINPERSID
            let pid = try pop("BINPERSID")
            let storage = try persistentStorage(try materialize(pid, depth: 0))
            storages.append(storage)
            push(.storage(storage))
        default:
            throw .unknownOpcode(opcode: opcode, offset: opcodeOffset)
        }
    }

    // MARK: Stack and memo

    private mutating func push(_ value: PickleValue) { stack.append(.value(value)) }

    /// A tuple node, refused when it would nest deeper than `maximumNesting`.
    private func tuple(_ items: [Node]) throws(PickleProblem) -> Node {
        var depth = 1
        for case .tuple(_, let inner) in items { depth = max(depth, inner + 1) }
        guard depth <= Self.maximumNesting else { throw .nestingTooDeep(limit: Self.maximumNesting) }
        return .tuple(items, depth: depth)
    }

    private mutating func pop(_ opcode: String) throws(PickleProblem) -> Node {
        let floor = marks.last ?? 0
        guard stack.count > floor, let top = stack.popLast() else {
            throw .stackUnderflow(opcode: opcode, offset: opcodeOffset)
        }
        return top
    }

    private mutating func pop(_ count: Int, _ opcode: String) throws(PickleProblem) -> [Node] {
        let floor = marks.last ?? 0
        guard stack.count - floor >= count else { throw .stackUnderflow(opcode: opcode, offset: opcodeOffset) }
        let items = Array(stack[(stack.count - count)...])
        stack.removeLast(count)
        return items
    }

    private func peek(_ opcode: String) throws(PickleProblem) -> Node {
        let floor = marks.last ?? 0
        guard stack.count > floor, let top = stack.last else { throw .stackUnderflow(opcode: opcode, offset: opcodeOffset) }
        return top
    }

    private mutating func popMark(_ opcode: String) throws(PickleProblem) -> [Node] {
        guard let mark = marks.popLast() else { throw .markUnderflow(opcode: opcode, offset: opcodeOffset) }
        let items = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return items
    }

    private mutating func put(_ index: Int) throws(PickleProblem) {
        let top = try peek("PUT")
        if memo[index] == nil, memo.count >= Self.maximumMemo { throw .memoTooLarge(limit: Self.maximumMemo) }
        memo[index] = top
    }

    private mutating func get(_ index: Int) throws(PickleProblem) {
        guard let node = memo[index] else { throw .undefinedMemo(index: index, offset: opcodeOffset) }
        stack.append(node)
    }

    // MARK: Containers

    private mutating func newContainer(_ kind: ContainerKind, items: [Node]) throws(PickleProblem) {
        guard containers.count < Self.maximumMemo else { throw .memoTooLarge(limit: Self.maximumMemo) }
        containers.append(Container(kind: kind, items: items))
        stack.append(.container(containers.count - 1))
    }

    private mutating func grow(_ id: Int, by count: Int) throws(PickleProblem) {
        guard containers[id].items.count + count <= Self.maximumContainer else {
            throw .containerTooLarge(limit: Self.maximumContainer)
        }
    }

    private mutating func append(_ items: [Node], to target: Node, _ opcode: String) throws(PickleProblem) {
        guard case .container(let id) = target, containers[id].kind == .list else {
            throw .forbiddenAppend(target: kind(of: target), offset: opcodeOffset)
        }
        try grow(id, by: items.count)
        containers[id].items += items
    }

    /// Sets key/value pairs on a dict; string and int keys replace earlier values like Python.
    private mutating func setItems(_ pairs: [Node], on target: Node, _ opcode: String) throws(PickleProblem) {
        guard case .container(let id) = target, containers[id].kind == .dict else {
            throw .forbiddenSetItem(target: kind(of: target), offset: opcodeOffset)
        }
        guard pairs.count % 2 == 0 else { throw .stackUnderflow(opcode: opcode, offset: opcodeOffset) }
        try grow(id, by: pairs.count / 2)
        var index = 0
        while index < pairs.count {
            let key = pairs[index], value = pairs[index + 1]
            index += 2
            let fingerprint: String?
            switch key {
            case .value(.string(let text)): fingerprint = "s" + text
            case .value(.int(let number)): fingerprint = "i\(number)"
            case .value, .tuple: fingerprint = nil
            case .container: throw .unhashableKey(offset: opcodeOffset)
            }
            if let fingerprint, let existing = containers[id].positions[fingerprint] {
                containers[id].items[existing] = value
                continue
            }
            if let fingerprint { containers[id].positions[fingerprint] = containers[id].keys.count }
            containers[id].keys.append(key)
            containers[id].items.append(value)
        }
    }

    private func kind(of node: Node) -> String {
        switch node {
        case .value(let value): value.kindName
        case .tuple: "tuple"
        case .container(let id):
            switch containers[id].kind {
            case .list: "list"
            case .dict: "dict"
            case .set: "set"
            }
        }
    }

    /// Turns the graph into values, bounded in depth (cycles) and total size (shared subtrees).
    private mutating func materialize(_ node: Node, depth: Int) throws(PickleProblem) -> PickleValue {
        guard depth < Self.maximumNesting else { throw .nestingTooDeep(limit: Self.maximumNesting) }
        guard budget > 0 else { throw .tooManyValues(limit: valueLimit) }
        budget -= 1
        var bytes = MemoryLayout<PickleValue>.stride
        switch node {
        case .value(.string(let text)): bytes += text.utf8.count
        case .value(.bytes(let data)), .value(.bigInt(let data)): bytes += data.count
        case .value(.global(let module, let name)): bytes += module.utf8.count + name.utf8.count
        case .container(let id): bytes += containers[id].keys.count * MemoryLayout<PickleValue>.stride
        default: break
        }
        guard allocation.charge(bytes) else { throw .allocationBudget(limit: allocation.limit) }
        switch node {
        case .value(let value): return value
        case .tuple(let items, _):
            var values: [PickleValue] = []
            values.reserveCapacity(items.count)
            for item in items { values.append(try materialize(item, depth: depth + 1)) }
            return .tuple(values)
        case .container(let id):
            let container = containers[id]
            var values: [PickleValue] = []
            values.reserveCapacity(container.items.count)
            for item in container.items { values.append(try materialize(item, depth: depth + 1)) }
            switch container.kind {
            case .list: return .list(values)
            case .set: return .set(values)
            case .dict:
                var entries: [(key: PickleValue, value: PickleValue)] = []
                entries.reserveCapacity(values.count)
                for (key, value) in zip(container.keys, values) {
                    entries.append((try materialize(key, depth: depth + 1), value))
                }
                return .dict(entries)
            }
        }
    }

    // MARK: Globals and calls

    /// Allowlisted globals; everything else is refused before anything could be resolved.
    static func resolve(module rawModule: String, name: String) throws(PickleProblem) -> PickleValue {
        let module = rawModule == "__builtin__" ? "builtins" : rawModule
        let allowed: Bool
        switch module {
        case "collections": allowed = name == "OrderedDict"
        case "torch._utils": allowed = rebuildFunctions.contains(name)
        case "torch": allowed = name == "Size" || dtypeNames.contains(name) || storageTypeNames.contains(name)
        case "torch.storage": allowed = name == "UntypedStorage"
        case "_codecs": allowed = name == "encode"
        default: allowed = false
        }
        guard allowed else { throw .forbiddenGlobal(module: module, name: name) }
        return .global(module: module, name: name)
    }

    static let rebuildFunctions: Set<String> = [
        "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
        "_rebuild_parameter_with_state",
    ]

    /// `torch.<dtype>` names a v3 rebuild may pass.
    public static let dtypeNames: Set<String> = [
        "float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64", "long", "int32", "int",
        "int16", "short", "int8", "uint8", "bool", "complex64", "cfloat", "complex128", "cdouble", "complex32",
        "chalf", "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
        "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "qint8", "quint8", "qint32", "quint4x2",
        "quint2x4", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2",
    ]

    /// `torch.<Name>Storage` names a persistent id may use.
    public static let storageTypeNames: Set<String> = [
        "DoubleStorage", "FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
        "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "ComplexFloatStorage",
        "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage", "QInt32Storage", "QUInt4x2Storage",
        "QUInt2x4Storage", "UntypedStorage",
    ]

    private mutating func call(_ callable: Node, _ argumentNode: Node, _ opcode: String) throws(PickleProblem) -> Node {
        guard case .value(.global(let module, let name)) = callable else {
            throw .forbiddenCall(target: kind(of: callable), offset: opcodeOffset)
        }
        let qualified = "\(module).\(name)"
        guard case .tuple(let argumentNodes, _) = argumentNode else {
            throw .badArguments(callable: qualified, detail: "arguments are a \(kind(of: argumentNode)), not a tuple")
        }
        switch (module, name) {
        case ("collections", "OrderedDict"):
            guard argumentNodes.isEmpty else { throw .badArguments(callable: qualified, detail: "expected no arguments") }
            try newContainer(.dict, items: [])
            return stack.removeLast()
        case ("torch", "Size"):
            let arguments = try materializeArguments(argumentNodes)
            guard arguments.count == 1, let sizes = Self.ints(arguments[0]) else {
                throw .badArguments(callable: qualified, detail: "expected one tuple of ints")
            }
            return .value(.tuple(sizes.map { .int($0) }))
        case ("_codecs", "encode"):
            let arguments = try materializeArguments(argumentNodes)
            guard arguments.count == 2, case .string(let text) = arguments[0], case .string(let encoding) = arguments[1],
                  ["latin1", "latin-1"].contains(encoding.lowercased()) else {
                throw .badArguments(callable: qualified, detail: "expected (str, 'latin1')")
            }
            var output: [UInt8] = []
            for scalar in text.unicodeScalars {
                guard scalar.value < 256 else { throw .badArguments(callable: qualified, detail: "text is not latin-1") }
                output.append(UInt8(scalar.value))
            }
            return .value(.bytes(output))
        case ("torch._utils", _):
            return .value(.tensor(try rebuild(name, try materializeArguments(argumentNodes))))
        default:
            throw .forbiddenCall(target: qualified, offset: opcodeOffset)
        }
    }

    private mutating func materializeArguments(_ nodes: [Node]) throws(PickleProblem) -> [PickleValue] {
        var values: [PickleValue] = []
        for node in nodes { values.append(try materialize(node, depth: 1)) }
        return values
    }

    /// Evaluates a torch rebuild function into a tensor description.
    private func rebuild(_ name: String, _ arguments: [PickleValue]) throws(PickleProblem) -> PickleTensor {
        let callable = "torch._utils.\(name)"
        func bad(_ detail: String) -> PickleProblem { .badArguments(callable: callable, detail: detail) }
        switch name {
        case "_rebuild_parameter", "_rebuild_parameter_with_state":
            let arity = name == "_rebuild_parameter" ? 3 : 4
            guard arguments.count == arity else { throw bad("expected \(arity) arguments, got \(arguments.count)") }
            guard case .tensor(let data) = arguments[0] else { throw bad("data is a \(arguments[0].kindName), not a tensor") }
            guard case .bool(let requiresGrad) = arguments[1] else { throw bad("requires_grad is not a bool") }
            guard case .dict = arguments[2] else { throw bad("backward_hooks is not a dict") }
            return PickleTensor(
                storage: data.storage, storageOffset: data.storageOffset, size: data.size, stride: data.stride,
                dtypeName: data.dtypeName, requiresGrad: requiresGrad)
        default:
            let arity: ClosedRange<Int> = switch name {
            case "_rebuild_tensor": 4...4
            case "_rebuild_tensor_v2": 6...7
            default: 7...8
            }
            guard arity.contains(arguments.count) else {
                throw bad("expected \(arity.lowerBound == arity.upperBound ? "\(arity.lowerBound)" : "\(arity.lowerBound) or \(arity.upperBound)") arguments, got \(arguments.count)")
            }
            guard case .storage(let storage) = arguments[0] else { throw bad("storage is a \(arguments[0].kindName)") }
            guard case .int(let offset) = arguments[1] else { throw bad("storage_offset is not an int") }
            guard let size = Self.ints(arguments[2]) else { throw bad("size is not a tuple of ints") }
            guard let stride = Self.ints(arguments[3]) else { throw bad("stride is not a tuple of ints") }
            var requiresGrad = false
            var dtypeName: String?
            if arguments.count >= 6 {
                guard case .bool(let flag) = arguments[4] else { throw bad("requires_grad is not a bool") }
                requiresGrad = flag
                guard case .dict = arguments[5] else { throw bad("backward_hooks is not a dict") }
            }
            if name == "_rebuild_tensor_v3" {
                guard case .global("torch", let dtype) = arguments[6], Self.dtypeNames.contains(dtype) else {
                    throw bad("dtype is a \(arguments[6].kindName), not a torch dtype")
                }
                dtypeName = dtype
            }
            if let metadata = arguments.count == arity.upperBound && arity.lowerBound != arity.upperBound ? arguments.last : nil {
                guard case .dict = metadata else { throw bad("metadata is not a dict") }
            }
            return PickleTensor(
                storage: storage, storageOffset: offset, size: size, stride: stride, dtypeName: dtypeName,
                requiresGrad: requiresGrad)
        }
    }

    private static func ints(_ value: PickleValue) -> [Int]? {
        guard case .tuple(let items) = value else { return nil }
        var result: [Int] = []
        for item in items {
            guard case .int(let number) = item else { return nil }
            result.append(number)
        }
        return result
    }

    /// Interprets `('storage', type, key, location, numel[, view_metadata])`.
    private func persistentStorage(_ pid: PickleValue) throws(PickleProblem) -> PickleStorage {
        guard case .tuple(let items) = pid, items.count == 5 || items.count == 6, items[0] == .string("storage") else {
            throw .badPersistentID("expected ('storage', type, key, location, numel), got \(pid.kindName)")
        }
        guard case .global(let module, let typeName) = items[1], module == "torch" || module == "torch.storage",
              Self.storageTypeNames.contains(typeName) else {
            throw .badPersistentID("storage type is \(items[1].kindName)")
        }
        guard case .string(let key) = items[2] else { throw .badPersistentID("key is not a string") }
        guard case .string(let location) = items[3] else { throw .badPersistentID("location is not a string") }
        guard case .int(let numel) = items[4], numel >= 0 else { throw .badPersistentID("numel is not a non-negative int") }
        var view: PickleStorage.View?
        if items.count == 6 {
            switch items[5] {
            case .none: break
            case .tuple(let parts):
                guard parts.count == 3, case .string(let viewKey) = parts[0], case .int(let viewOffset) = parts[1],
                      case .int(let viewCount) = parts[2], viewOffset >= 0, viewCount >= 0 else {
                    throw .badPersistentID("view metadata is not (key, offset, size)")
                }
                view = PickleStorage.View(key: viewKey, offset: viewOffset, count: viewCount)
            default: throw .badPersistentID("view metadata is a \(items[5].kindName)")
            }
        }
        return PickleStorage(typeName: typeName, key: key, location: location, elementCount: numel, view: view)
    }

    // MARK: Reading payloads

    private mutating func readBytes(_ count: Int, _ opcode: String) throws(PickleProblem) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= bytes.count - offset else { throw .truncated(opcode: opcode, offset: opcodeOffset) }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        offset += count
        return slice
    }

    private mutating func readByte(_ opcode: String) throws(PickleProblem) -> UInt8 {
        try readBytes(1, opcode)[0]
    }

    private mutating func readRaw<T: FixedWidthInteger>(_: T.Type, _ opcode: String) throws(PickleProblem) -> T {
        try readBytes(MemoryLayout<T>.size, opcode).loadUnaligned(as: T.self)
    }

    private mutating func readInteger<T: FixedWidthInteger>(_: T.Type, _ opcode: String) throws(PickleProblem) -> T {
        T(littleEndian: try readRaw(T.self, opcode))
    }

    private mutating func readLength64(_ opcode: String) throws(PickleProblem) -> Int {
        guard let count = Int(exactly: try readInteger(UInt64.self, opcode)) else {
            throw .truncated(opcode: opcode, offset: opcodeOffset)
        }
        return count
    }

    private mutating func readString(_ count: Int, _ opcode: String) throws(PickleProblem) -> String {
        let raw = try readBytes(count, opcode)
        guard let text = String(validating: raw, as: UTF8.self) else { throw .invalidUTF8(offset: opcodeOffset) }
        return text
    }

    /// A GLOBAL line: printable ASCII up to `\n`.
    private mutating func readLine(_ opcode: String) throws(PickleProblem) -> String {
        var end = offset
        while end < bytes.count, bytes[end] != 0x0A {
            guard (0x20..<0x7F).contains(bytes[end]) else { throw .invalidGlobalName(offset: opcodeOffset) }
            end += 1
        }
        guard end < bytes.count else { throw .truncated(opcode: opcode, offset: opcodeOffset) }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<end]), as: UTF8.self)
        offset = end + 1
        return line
    }

    /// A little-endian two's complement integer (LONG1/LONG4); wider than 64 bits stays bytes.
    private static func long(_ raw: UnsafeRawBufferPointer) -> PickleValue {
        guard raw.count <= 8 else { return .bigInt(Array(raw)) }
        guard !raw.isEmpty else { return .int(0) }
        var value: UInt64 = 0
        for (index, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        if raw.count < 8, raw[raw.count - 1] & 0x80 != 0 { value |= ~0 << (8 * UInt64(raw.count)) }
        return .int(Int(Int64(bitPattern: value)))
    }
}
