import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

@Suite struct ShardedCheckpointTests {
    private let shard1 = "model-00001-of-00002.safetensors"
    private let shard2 = "model-00002-of-00002.safetensors"

    private static func openSafetensors(_ path: String) throws(CheckpointError) -> any CheckpointReader {
        try SafetensorsReader(path: path)
    }

    /// The fixture's weight map, in index order.
    private func fixtureWeightMap() throws -> [(String, JSONValue)] {
        let index = try #require(try ExpectedSafetensors.document()["sharded/model.safetensors.index.json"])
        guard case .object(let members) = index["weight_map"] else { throw ExpectedSafetensors.Malformed() }
        return members
    }

    /// A folder with copies of the listed fixture shards and an index holding `weightMap`.
    private func folder(shards: [String], weightMap: [(String, JSONValue)], indexName: String = "model.safetensors.index.json") throws -> (TemporaryDirectory, String) {
        let folder = TemporaryDirectory()
        for shard in shards { folder.write(shard, try SafetensorsBytes.fixture("sharded/" + shard)) }
        let index = JSONValue.object([("metadata", .object([("total_size", .integer(608))])), ("weight_map", .object(weightMap))])
        return (folder, folder.write(indexName, Array(index.serialized.utf8)))
    }

    /// The problem opening `indexPath` raises; `keeping` holds its folder alive until then.
    private func problem(_ indexPath: String, keeping folder: TemporaryDirectory? = nil) -> ShardIndexProblem? {
        defer { withExtendedLifetime(folder) {} }
        do throws(CheckpointError) {
            _ = try ShardedCheckpoint(indexPath: indexPath, openShard: Self.openSafetensors)
            Issue.record("expected an error")
            return nil
        } catch {
            #expect(error.path == indexPath)
            return error.problem as? ShardIndexProblem
        }
    }

    @Test func opensTheReferenceShards() throws {
        let indexPath = Fixtures.path("safetensors/sharded/model.safetensors.index.json")
        var opened: [String] = []
        let checkpoint = try ShardedCheckpoint(indexPath: indexPath) { (path: String) throws(CheckpointError) -> any CheckpointReader in
            opened.append(path)
            return try SafetensorsReader(path: path)
        }
        #expect(opened == [Fixtures.path("safetensors/sharded/" + shard1), Fixtures.path("safetensors/sharded/" + shard2)])
        #expect(checkpoint.format == .safetensors)
        #expect(checkpoint.path == indexPath)
        #expect(checkpoint.metadata == [MetadataEntry(key: "total_size", value: .uint64(608))])
        let first = try ExpectedSafetensors.load("sharded/" + shard1)
        let second = try ExpectedSafetensors.load("sharded/" + shard2)
        #expect(checkpoint.tensors.map(\.name) == (first.tensors + second.tensors).map(\.name))
        for reference in first.tensors + second.tensors {
            let tensor = try #require(checkpoint.tensor(named: reference.name))
            #expect(tensor.file.hasSuffix(first.tensors.contains { $0.name == reference.name } ? shard1 : shard2))
            #expect(try checkpoint.bytes(of: tensor).array == reference.bytes)
        }
        #expect(checkpoint.tensors.reduce(0) { $0 + $1.byteCount } == 608)
    }

    @Test func anyIndexNameWorks() throws {
        let (folder, indexPath) = try folder(shards: [shard1, shard2], weightMap: try fixtureWeightMap(), indexName: "pytorch_model.bin.index.json")
        let checkpoint = try ShardedCheckpoint(indexPath: indexPath, openShard: Self.openSafetensors)
        #expect(checkpoint.tensors.count == 6)
        #expect(checkpoint.tensors.allSatisfy { $0.file.hasPrefix(folder.path + "/") })
    }

    @Test func missingShardFile() throws {
        let (dir, indexPath) = try folder(shards: [shard1], weightMap: try fixtureWeightMap())
        #expect(problem(indexPath, keeping: dir) == .mismatch(missingShards: [shard2], missingTensors: [], extraTensors: [], duplicated: []))
    }

    @Test func indexNamesATensorNotInTheShard() throws {
        let (dir, indexPath) = try folder(shards: [shard1, shard2], weightMap: try fixtureWeightMap() + [("ghost.weight", .string(shard1))])
        #expect(problem(indexPath, keeping: dir) == .mismatch(missingShards: [], missingTensors: ["ghost.weight"], extraTensors: [], duplicated: []))
    }

    @Test func indexPointsATensorAtTheWrongShard() throws {
        let map = try fixtureWeightMap().map { ($0.0, $0.0 == "lm_head.weight" ? JSONValue.string(shard1) : $0.1) }
        let (dir, indexPath) = try folder(shards: [shard1, shard2], weightMap: map)
        #expect(problem(indexPath, keeping: dir) == .mismatch(missingShards: [], missingTensors: ["lm_head.weight"], extraTensors: [], duplicated: []))
    }

    @Test func shardHasATensorTheIndexDoesNotList() throws {
        let (dir, indexPath) = try folder(shards: [shard1, shard2], weightMap: try fixtureWeightMap().filter { $0.0 != "model.norm.weight" })
        #expect(problem(indexPath, keeping: dir) == .mismatch(missingShards: [], missingTensors: [], extraTensors: ["model.norm.weight"], duplicated: []))
    }

    @Test func tensorInTwoShards() throws {
        let (folder, _) = try folder(shards: [shard1, shard2], weightMap: [("a", .string("a"))])
        let writer = try SafetensorsWriter(path: folder.file("extra.safetensors"), overwrite: false,
                                           tensors: [TensorPlan(name: "x", dtype: .u8, shape: [1]), TensorPlan(name: "lm_head.weight", dtype: .u8, shape: [1])])
        try writer.write([1])
        try writer.write([2])
        try writer.finish()
        let index = JSONValue.object([("weight_map", .object(try fixtureWeightMap() + [("x", .string("extra.safetensors"))]))])
        let indexPath = folder.write("model.safetensors.index.json", Array(index.serialized.utf8))
        #expect(problem(indexPath, keeping: folder) == .mismatch(missingShards: [], missingTensors: [], extraTensors: [], duplicated: ["lm_head.weight"]))
    }

    @Test func everyDiscrepancyInOneError() throws {
        let map = try fixtureWeightMap().filter { $0.0 != "model.layers.0.mlp.up_proj.weight" }
            + [("ghost.a", .string(shard1)), ("ghost.b", .string(shard1)), ("in.missing.shard", .string("model-00003-of-00003.safetensors"))]
        let (dir, indexPath) = try folder(shards: [shard1, shard2], weightMap: map)
        let found = problem(indexPath, keeping: dir)
        #expect(found == .mismatch(missingShards: ["model-00003-of-00003.safetensors"], missingTensors: ["ghost.a", "ghost.b"],
                                   extraTensors: ["model.layers.0.mlp.up_proj.weight"], duplicated: []))
        let message = found?.message ?? ""
        #expect(message.contains("model-00003-of-00003.safetensors"))
        #expect(message.contains("ghost.a, ghost.b"))
        #expect(message.contains("model.layers.0.mlp.up_proj.weight"))
    }

    @Test func longListsAreTruncatedInTheMessage() {
        let names = (1...8).map { "t\($0)" }
        let problem = ShardIndexProblem.mismatch(missingShards: [], missingTensors: names, extraTensors: [], duplicated: [])
        #expect(problem.message == "tensors missing from their shard (8): t1, t2, t3, t4, t5 and 3 more")
    }

    @Test func shardNamesMustBePlainFileNames() throws {
        for bad in ["../model.safetensors", "sub/model.safetensors", "/etc/passwd", "..", ""] {
            let (dir, indexPath) = try folder(shards: [], weightMap: [("a", .string(bad))])
            #expect(problem(indexPath, keeping: dir) == .invalidShardName(bad))
        }
    }

    @Test func malformedIndexes() throws {
        let folder = TemporaryDirectory()
        #expect(problem(folder.write("a.index.json", Array("[]".utf8))) == .notAnIndex("the index is not a JSON object"))
        #expect(problem(folder.write("b.index.json", Array(#"{"metadata":{}}"#.utf8))) == .missingWeightMap)
        #expect(problem(folder.write("c.index.json", Array(#"{"weight_map":{}}"#.utf8))) == .emptyWeightMap)
        #expect(problem(folder.write("d.index.json", Array(#"{"weight_map":{"a":1}}"#.utf8))) == .invalidEntry(tensor: "a"))
        #expect(problem(folder.write("e.index.json", Array(#"{"weight_map":{"a":"x","a":"y"}}"#.utf8)))
                == .invalidJSON(.duplicateKey("a", offset: 23)))
        #expect(problem(folder.write("f.index.json", Array(#"{"metadata":[],"weight_map":{"a":"x"}}"#.utf8)))
                == .notAnIndex("\"metadata\" is not an object"))
    }

    @Test func otherShardErrorsPropagate() throws {
        let (folder, indexPath) = try folder(shards: [shard1], weightMap: try fixtureWeightMap())
        folder.write(shard2, [1, 2, 3])
        do throws(CheckpointError) {
            _ = try ShardedCheckpoint(indexPath: indexPath, openShard: Self.openSafetensors)
            Issue.record("expected an error")
        } catch {
            #expect(error.path == folder.file(shard2))
            #expect(error.problem as? SafetensorsProblem == .headerTooSmall(fileLength: 3))
        }
    }
}
