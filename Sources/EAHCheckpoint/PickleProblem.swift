/// What is wrong with a pickle (`data.pkl` or a legacy torch pickle). Every case is raised
/// before anything could run: the machine never imports or calls Python code.
public enum PickleProblem: CheckpointProblem, Equatable {
    /// A global outside the weights-only allowlist, e.g. `posix.system` or `builtins.eval`.
    case forbiddenGlobal(module: String, name: String)
    /// An opcode the restricted machine does not implement.
    case unknownOpcode(opcode: UInt8, offset: Int)
    case unsupportedProtocol(Int)
    /// REDUCE or NEWOBJ on something that is not an allowlisted callable.
    case forbiddenCall(target: String, offset: Int)
    /// An allowlisted callable called with the wrong number or types of arguments.
    case badArguments(callable: String, detail: String)
    /// BUILD on a value that may not be built (only OrderedDict and tensors).
    case forbiddenBuild(target: String, offset: Int)
    /// SETITEM(S) on something other than a dict.
    case forbiddenSetItem(target: String, offset: Int)
    /// APPEND(S) on something other than a list.
    case forbiddenAppend(target: String, offset: Int)
    /// A persistent id that is not `('storage', type, key, location, numel[, view])`.
    case badPersistentID(String)
    case stackUnderflow(opcode: String, offset: Int)
    /// An opcode needing a MARK found none.
    case markUnderflow(opcode: String, offset: Int)
    case stackTooDeep(limit: Int)
    case memoTooLarge(limit: Int)
    case undefinedMemo(index: Int, offset: Int)
    case containerTooLarge(limit: Int)
    /// Nested values (or a reference cycle) deeper than the limit.
    case nestingTooDeep(limit: Int)
    /// Turning the pickle into values would produce more than `limit` of them (shared memo
    /// entries expanding exponentially: a "billion laughs" pickle).
    case tooManyValues(limit: Int)
    /// The values hold more than `limit` bytes in all (`AllocationBudget.pickle(size:)`).
    case allocationBudget(limit: Int)
    /// An opcode's payload runs past the end of the pickle.
    case truncated(opcode: String, offset: Int)
    case invalidUTF8(offset: Int)
    /// A GLOBAL whose module or name line is not printable ASCII.
    case invalidGlobalName(offset: Int)
    /// A dict key that is not hashable (a list, dict or set).
    case unhashableKey(offset: Int)
    /// The pickle ended without STOP.
    case missingStop
    /// STOP with other than exactly one value on the stack (or with an open MARK).
    case badStop(stackCount: Int)

    public var message: String {
        switch self {
        case .forbiddenGlobal(let module, let name):
            "the pickle references \(module).\(name), which is not allowed in a weights-only checkpoint; the file may be malicious. Nothing was executed"
        case .unknownOpcode(let opcode, let offset): "unsupported pickle opcode 0x\(String(opcode, radix: 16)) at offset \(offset)"
        case .unsupportedProtocol(let version): "unsupported pickle protocol \(version)"
        case .forbiddenCall(let target, let offset): "the pickle calls \(target) at offset \(offset), which is not an allowed constructor; nothing was executed"
        case .badArguments(let callable, let detail): "invalid arguments to \(callable): \(detail)"
        case .forbiddenBuild(let target, let offset): "the pickle sets the state of a \(target) at offset \(offset), which is not allowed"
        case .forbiddenSetItem(let target, let offset): "the pickle sets items on a \(target) at offset \(offset), which is not a dict"
        case .forbiddenAppend(let target, let offset): "the pickle appends to a \(target) at offset \(offset), which is not a list"
        case .badPersistentID(let detail): "invalid storage reference: \(detail)"
        case .stackUnderflow(let opcode, let offset): "pickle stack underflow at \(opcode) (offset \(offset))"
        case .markUnderflow(let opcode, let offset): "pickle \(opcode) at offset \(offset) has no matching MARK"
        case .stackTooDeep(let limit): "the pickle stack exceeds \(limit) items"
        case .memoTooLarge(let limit): "the pickle memo exceeds \(limit) entries"
        case .undefinedMemo(let index, let offset): "the pickle reads undefined memo entry \(index) at offset \(offset)"
        case .containerTooLarge(let limit): "a pickled container exceeds \(limit) items"
        case .nestingTooDeep(let limit): "pickled values nest deeper than \(limit) levels"
        case .tooManyValues(let limit): "the pickle expands to more than \(limit) values (shared entries referenced over and over); it is not a checkpoint"
        case .allocationBudget(let limit):
            "the pickle's values would take more than \(limit) bytes of memory, out of proportion to its size (shared entries referenced over and over); it is not a checkpoint"
        case .truncated(let opcode, let offset): "the pickle is truncated: \(opcode) at offset \(offset) runs past the end"
        case .invalidUTF8(let offset): "invalid UTF-8 in a pickled string at offset \(offset)"
        case .invalidGlobalName(let offset): "invalid global name at offset \(offset)"
        case .unhashableKey(let offset): "unhashable dict key at offset \(offset)"
        case .missingStop: "the pickle ends without STOP (truncated)"
        case .badStop(let count): "the pickle stops with \(count) values on the stack instead of one"
        }
    }

    public var fix: String? {
        switch self {
        case .forbiddenGlobal, .forbiddenCall:
            "do not load this file with torch.load(weights_only=False); if you trust it, re-save only the state dict with torch.save(model.state_dict(), path)"
        case .truncated, .missingStop: "download or copy the file again; it is incomplete"
        default: nil
        }
    }
}
