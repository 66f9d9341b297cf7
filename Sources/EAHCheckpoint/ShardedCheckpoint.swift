/// A checkpoint split over shard files listed by an index (`model.safetensors.index.json`,
/// `pytorch_model.bin.index.json`, any `*.index.json`):
/// `{"metadata": {...}, "weight_map": {tensor: shard file}}`.
///
/// Opening parses the index strictly, opens each distinct shard once (shards are plain file
/// names in the index's folder) and checks the map against the shards' contents. All
/// discrepancies (missing shard files, names missing from their shard, shard tensors the map
/// does not list, names in two shards) are reported together in one
/// `ShardIndexProblem.mismatch`. `tensors` lists shard by shard (shards sorted by file name),
/// each in its file order; `metadata` is the index's `metadata` object (non-negative integers as
/// `.uint64`, e.g. `total_size`).
public final class ShardedCheckpoint: CheckpointReader {
    public let path: String
    public let format: CheckpointFormat
    public let tensors: [TensorInfo]
    public let metadata: [MetadataEntry]
    /// The opened shards, sorted by file name.
    public let shards: [any CheckpointReader]
    /// Tensor name (UTF-8 bytes) → index into `shards`.
    private let owner: [[UInt8]: Int]

    /// Parses `indexPath` and opens each shard with `openShard` (given the shard's full path).
    ///
    /// A shard whose opening throws `FileProblem.notFound` counts as missing; other errors from
    /// `openShard` are rethrown as they are.
    public init(indexPath: String, openShard: (String) throws(CheckpointError) -> any CheckpointReader) throws(CheckpointError) {
        path = indexPath
        let file = try MappedFile(path: indexPath)
        let index: JSONValue
        do throws(JSONProblem) {
            index = try JSONParser.parse(file.bytes)
        } catch {
            throw CheckpointError(path: indexPath, problem: ShardIndexProblem.invalidJSON(error))
        }
        let parsed: (metadata: [MetadataEntry], weightMap: [(String, String)])
        do throws(ShardIndexProblem) {
            parsed = try Self.interpret(index)
        } catch {
            throw CheckpointError(path: indexPath, problem: error)
        }
        metadata = parsed.metadata

        let slash = indexPath.lastIndex(of: "/")
        let folder = slash.map { String(indexPath[...$0]) } ?? ""
        let shardNames = Set(parsed.weightMap.map(\.1)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }

        var opened: [(name: String, reader: any CheckpointReader)] = []
        var missingShards: [String] = []
        for name in shardNames {
            do throws(CheckpointError) {
                opened.append((name, try openShard(folder + name)))
            } catch {
                guard (error.problem as? FileProblem) == .notFound else { throw error }
                missingShards.append(name)
            }
        }

        // Where each tensor actually is.
        // Names are compared by their UTF-8 bytes throughout, not by String's canonical equivalence.
        var foundIn: [[UInt8]: [String]] = [:]
        for (name, reader) in opened {
            for tensor in reader.tensors { foundIn[Array(tensor.name.utf8), default: []].append(name) }
        }
        let missing = Set(missingShards)
        var missingTensors: [String] = []
        var mapped: Set<[UInt8]> = []
        for (tensor, shard) in parsed.weightMap {
            mapped.insert(Array(tensor.utf8))
            if missing.contains(shard) { continue }  // reported as a missing shard
            if !(foundIn[Array(tensor.utf8)] ?? []).contains(shard) { missingTensors.append(tensor) }
        }
        var extraTensors: [String] = []
        var duplicated: [String] = []
        for (name, reader) in opened {
            for tensor in reader.tensors {
                let places = foundIn[Array(tensor.name.utf8)] ?? []
                if places.count > 1 {
                    if places.first == name { duplicated.append(tensor.name) }
                } else if !mapped.contains(Array(tensor.name.utf8)) {
                    extraTensors.append(tensor.name)
                }
            }
        }
        if !(missingShards.isEmpty && missingTensors.isEmpty && extraTensors.isEmpty && duplicated.isEmpty) {
            throw CheckpointError(path: indexPath, problem: ShardIndexProblem.mismatch(
                missingShards: missingShards, missingTensors: missingTensors,
                extraTensors: extraTensors, duplicated: duplicated))
        }

        let readers = opened.map(\.reader)
        guard let first = readers.first else {
            throw CheckpointError(path: indexPath, problem: ShardIndexProblem.emptyWeightMap)
        }
        for (name, reader) in opened where reader.format != first.format {
            throw CheckpointError(path: indexPath, problem: ShardIndexProblem.mixedFormats(shard: name))
        }
        format = first.format
        shards = readers
        var owner: [[UInt8]: Int] = [:]
        var tensors: [TensorInfo] = []
        for (position, reader) in readers.enumerated() {
            for tensor in reader.tensors {
                owner[Array(tensor.name.utf8)] = position
                tensors.append(tensor)
            }
        }
        self.owner = owner
        self.tensors = tensors
    }

    public func bytes(of tensor: TensorInfo) throws(CheckpointError) -> TensorBytes {
        guard let position = owner[Array(tensor.name.utf8)] else {
            throw CheckpointError(path: path, problem: ShardIndexProblem.notInCheckpoint(tensor: tensor.name))
        }
        return try shards[position].bytes(of: tensor)
    }

    /// Whether `name` can be used as a shard file next to the index.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.contains("/") && !name.contains("\\") && !name.utf8.contains(0)
    }

    private static func interpret(_ index: JSONValue) throws(ShardIndexProblem) -> (metadata: [MetadataEntry], weightMap: [(String, String)]) {
        guard case .object = index else { throw .notAnIndex("the index is not a JSON object") }
        var metadata: [MetadataEntry] = []
        if let value = index["metadata"] {
            switch value {
            case .object(let members):
                for (key, item) in members { metadata.append(MetadataEntry(key: key, value: metadataValue(item))) }
            case .null:
                break
            default:
                throw .notAnIndex("\"metadata\" is not an object")
            }
        }
        guard case .object(let members) = index["weight_map"] else { throw .missingWeightMap }
        guard !members.isEmpty else { throw .emptyWeightMap }
        var weightMap: [(String, String)] = []
        for (tensor, shard) in members {
            guard case .string(let name) = shard else { throw .invalidEntry(tensor: tensor) }
            guard isPlainFileName(name) else { throw .invalidShardName(name) }
            weightMap.append((tensor, name))
        }
        return (metadata, weightMap)
    }

    private static func metadataValue(_ value: JSONValue) -> MetadataValue {
        switch value {
        case .integer(let number): number >= 0 ? .uint64(UInt64(number)) : .int64(Int64(number))
        case .number(let number): .float64(number)
        case .bool(let flag): .bool(flag)
        case .string(let text): .string(text)
        case .null, .array, .object: .string(value.serialized)
        }
    }
}
