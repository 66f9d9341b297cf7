/// What is wrong with a sharded checkpoint's `*.index.json` or with how its shards match it.
public enum ShardIndexProblem: CheckpointProblem, Equatable {
    /// The index is not valid JSON.
    case invalidJSON(JSONProblem)
    /// The index is not an object, or `metadata` is not an object.
    case notAnIndex(String)
    /// There is no `weight_map` object.
    case missingWeightMap
    /// `weight_map` names no tensors.
    case emptyWeightMap
    /// The shard of `tensor` is not a string.
    case invalidEntry(tensor: String)
    /// A shard name that is not a plain file name in the index's folder.
    case invalidShardName(String)
    /// A shard that is itself an index file (the index names itself or another index).
    case shardIsIndex(shard: String)
    /// Shards of different formats.
    case mixedFormats(shard: String)
    /// Everything that does not match, found by opening every shard: shard files that do not
    /// exist, weight_map names missing from their shard, shard tensors the map does not list,
    /// and names present in more than one shard.
    case mismatch(missingShards: [String], missingTensors: [String], extraTensors: [String], duplicated: [String])
    /// `bytes(of:)` was given a tensor that is not in this checkpoint.
    case notInCheckpoint(tensor: String)

    /// How many names a message lists before "and K more".
    static let listLimit = 5

    public var message: String {
        switch self {
        case .invalidJSON(let problem): "index is not valid JSON: \(problem.message)"
        case .notAnIndex(let reason): "not a shard index: \(reason)"
        case .missingWeightMap: "index has no \"weight_map\" object"
        case .emptyWeightMap: "index \"weight_map\" names no tensors"
        case .invalidEntry(let tensor): "index entry for \"\(tensor)\" is not a file name string"
        case .invalidShardName(let name): "index names shard \"\(name)\", which is not a plain file name"
        case .shardIsIndex(let shard): "index names \"\(shard)\" as a shard, but it is an index file, not a checkpoint"
        case .mixedFormats(let shard): "shard \(shard) has a different format from the other shards"
        case .mismatch(let missingShards, let missingTensors, let extraTensors, let duplicated):
            [
                Self.list("missing shard files", missingShards),
                Self.list("tensors missing from their shard", missingTensors),
                Self.list("tensors not in the index", extraTensors),
                Self.list("tensors in more than one shard", duplicated),
            ].compactMap { $0 }.joined(separator: "; ")
        case .notInCheckpoint(let tensor): "tensor \"\(tensor)\" is not in this checkpoint"
        }
    }

    public var fix: String? {
        switch self {
        case .shardIsIndex: "list the checkpoint files (*.safetensors, *.bin) in weight_map"
        case .mismatch: "download the missing or incomplete shards again, or regenerate the index"
        default: nil
        }
    }

    public var isUsageError: Bool {
        if case .notInCheckpoint = self { return true }
        return false
    }

    private static func list(_ title: String, _ names: [String]) -> String? {
        guard !names.isEmpty else { return nil }
        var text = "\(title) (\(names.count)): " + names.prefix(listLimit).joined(separator: ", ")
        if names.count > listLimit { text += " and \(names.count - listLimit) more" }
        return text
    }
}
