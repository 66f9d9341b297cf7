import EAH
import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// `convert --to gguf` writes what llama.cpp's own converters write for models/demo-llava:
/// Tests/Fixtures/llamacpp-export/demo-llava.json (tools/make_llamacpp_export_fixtures.py, the
/// converters of the llama.cpp vendored by llama-cpp-python 0.3.36) lists every metadata entry
/// and tensor (name, dimensions, type, SHA-256 of the bytes) of each output, in file order.
@Suite("llama.cpp layout: same files as llama.cpp's converters")
struct LlamaCppExportTests {
    static let model = Fixtures.root + "/../../models/demo-llava"

    struct Expected {
        var metadata: [(key: String, type: [String], value: JSONValue)]
        var tensors: [(name: String, shape: [Int], type: String, sha256: String)]
    }

    static func expected(_ output: String, fixture: String = "llamacpp-export/demo-llava.json") throws -> Expected {
        let file = try MappedFile(path: Fixtures.path(fixture))
        let json = try JSONParser.parse(file.bytes)
        let entry = try #require(json["outputs"]?[output], "no \(output) in the fixture")
        guard case .array(let metadata)? = entry["metadata"], case .array(let tensors)? = entry["tensors"] else {
            throw CheckpointError(path: "demo-llava.json", problem: FileProblem.system("malformed fixture"))
        }
        func strings(_ value: JSONValue?) -> [String] {
            guard case .array(let items)? = value else { return [] }
            return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
        }
        return Expected(
            metadata: metadata.map { ($0["key"]?.stringValue ?? "", strings($0["type"]), $0["value"] ?? .null) },
            tensors: tensors.map { tensor in
                var shape: [Int] = []
                if case .array(let dims)? = tensor["shape"] { shape = dims.compactMap { if case .integer(let d) = $0 { d } else { nil } } }
                return (tensor["name"]?.stringValue ?? "", shape, tensor["type"]?.stringValue ?? "", tensor["sha256"]?.stringValue ?? "")
            })
    }

    /// The GGUF value kind names gguf-py prints (`UINT32`, `ARRAY`, ...).
    static func typeNames(_ value: MetadataValue) -> [String] {
        switch value {
        case .array(let element, _): ["ARRAY", kindName(element)]
        default: [kindName(value.kind)]
        }
    }

    static func kindName(_ kind: MetadataKind) -> String {
        switch kind {
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .uint32: "UINT32"
        case .int32: "INT32"
        case .float32: "FLOAT32"
        case .bool: "BOOL"
        case .string: "STRING"
        case .array: "ARRAY"
        case .uint64: "UINT64"
        case .int64: "INT64"
        case .float64: "FLOAT64"
        }
    }

    /// A metadata value as the fixture writes it (float32 as `{"f32bits": n}`).
    static func json(_ value: MetadataValue) -> JSONValue {
        switch value {
        case .uint8(let v): .integer(Int(v))
        case .int8(let v): .integer(Int(v))
        case .uint16(let v): .integer(Int(v))
        case .int16(let v): .integer(Int(v))
        case .uint32(let v): .integer(Int(v))
        case .int32(let v): .integer(Int(v))
        case .uint64(let v): .integer(Int(v))
        case .int64(let v): .integer(Int(v))
        case .float32(let v): .object([("f32bits", .integer(Int(v.bitPattern)))])
        case .float64(let v): .number(v)
        case .bool(let v): .bool(v)
        case .string(let v): .string(v)
        case .array(_, let items): .array(items.map(json))
        }
    }

    /// Compares one written GGUF with the fixture's description of llama.cpp's.
    static func compare(_ path: String, with output: String, fixture: String = "llamacpp-export/demo-llava.json") throws {
        let expected = try expected(output, fixture: fixture)
        let reader = try GGUFReader(path: path)
        let actual = reader.metadata.filter { $0.key != "general.alignment" }
        #expect(actual.map(\.key) == expected.metadata.map(\.key), "\(output): metadata keys")
        for (entry, wanted) in zip(actual, expected.metadata) where entry.key == wanted.key {
            #expect(typeNames(entry.value) == wanted.type, "\(output): \(entry.key) type")
            #expect(json(entry.value) == wanted.value, "\(output): \(entry.key) value")
        }
        #expect(reader.tensors.map(\.name) == expected.tensors.map(\.name), "\(output): tensor names and order")
        for (tensor, wanted) in zip(reader.tensors, expected.tensors) where tensor.name == wanted.name {
            #expect(Array(tensor.shape.reversed()) == wanted.shape, "\(output): \(tensor.name) shape")
            #expect(tensor.dtype.name.uppercased() == wanted.type, "\(output): \(tensor.name) type")
            let digest = try reader.bytes(of: tensor).withUnsafeBytes { FileDigest.sha256($0) }
            #expect(digest == wanted.sha256, "\(output): \(tensor.name) values")
        }
    }

    @Test("text model and mmproj equal llama.cpp's", arguments: [("f16", "mmproj-f16"), ("f32", "mmproj-f32"), ("q8_0", "mmproj-f16")])
    func sameAsLlamaCpp(dtype: String, mmproj: String) throws {
        let directory = TemporaryDirectory()
        let output = directory.file("demo.gguf")
        let result = try CommandRunner.run("eah-convert", ["convert", Self.model, "--to", "gguf", "--dtype", dtype, "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        try Self.compare(output, with: "text-\(dtype)")
        try Self.compare(directory.file("mmproj-demo.gguf"), with: mmproj)
    }

    @Test("inspect names llama.cpp's layout, architecture and projector")
    func inspectSaysLayout() throws {
        let directory = TemporaryDirectory()
        let output = directory.file("demo.gguf")
        #expect(try CommandRunner.run("eah-convert", ["convert", Self.model, "-o", output]).status == 0)
        let text = try CommandRunner.run("eah-convert", ["inspect", output])
        #expect(text.stdout.contains("llama.cpp layout: text model, architecture llama, tokenizer llama"), "\(text.stdout.prefix(600))")
        let mmproj = try CommandRunner.run("eah-convert", ["inspect", directory.file("mmproj-demo.gguf")])
        #expect(mmproj.stdout.contains("llama.cpp layout: mmproj, architecture clip, projector mlp"), "\(mmproj.stdout.prefix(600))")
        let document = try JSONParser.parse(try CommandRunner.run("eah-convert", ["inspect", output, "--json"]).stdout)
        #expect(document["layout"] == .string("llama.cpp-text"))
        #expect(document["llama_cpp"] == .object([("in_layout", .bool(true)), ("kind", .string("text")), ("architecture", .string("llama")),
                                                  ("projector_type", .null), ("tokenizer", .string("llama"))]))
        let kept = directory.file("kept.gguf")
        #expect(try CommandRunner.run("eah-convert", ["convert", Self.model, "--keep-names", "-o", kept]).status == 0)
        let keptReport = try CommandRunner.run("eah-convert", ["inspect", kept])
        #expect(keptReport.stdout.contains("not llama.cpp's layout: source tensor names"), "\(keptReport.stdout.prefix(600))")
    }

    @Test("a baked llama.cpp-layout bundle copies the chosen head's permuted q/k rows over every head", arguments: ["f32", "q8_0"])
    func bakedRows(dtype: String) throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle"), plain = directory.file("plain.gguf")
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.model, "--head", "1:2", "--bake", "--to", "gguf", "--dtype", dtype, "-o", bundle])
        #expect(patch.status == 0, "\(patch.stderr)")
        #expect(try CommandRunner.run("eah-convert", ["convert", Self.model, "--dtype", dtype, "-o", plain]).status == 0)
        let baked = try GGUFReader(path: bundle + "/model.gguf"), original = try GGUFReader(path: plain)
        let originals = try GGUFReader(path: bundle + "/eah_original_rows.gguf")
        #expect(Set(originals.tensors.map(\.name)) == ["blk.1.attn_q.weight", "blk.1.attn_k.weight"])
        for name in ["blk.1.attn_q.weight", "blk.1.attn_k.weight"] {
            let bakedBytes = try baked.bytes(of: try #require(baked.tensor(named: name))).array
            let plainBytes = try original.bytes(of: try #require(original.tensor(named: name))).array
            #expect(try originals.bytes(of: try #require(originals.tensor(named: name))).array == plainBytes, "\(name): original rows")
            // demo-llava: 4 heads (and 4 KV heads) of 32 rows; head 2's block, permuted within itself, everywhere.
            let block = plainBytes.count / 4
            for head in 0..<4 {
                #expect(Array(bakedBytes[(head * block)..<((head + 1) * block)]) == Array(plainBytes[(2 * block)..<(3 * block)]), "\(name) head \(head)")
            }
        }
        for tensor in original.tensors where !tensor.name.hasPrefix("blk.1.attn_q") && !tensor.name.hasPrefix("blk.1.attn_k") {
            #expect(try baked.bytes(of: try #require(baked.tensor(named: tensor.name))).array == original.bytes(of: tensor).array, "\(tensor.name)")
        }
    }

    @Test("a source llama.cpp's layout cannot hold is refused, naming the part")
    func refusals() throws {
        let directory = TemporaryDirectory()
        // A lone safetensors file of no model family.
        let plain = try CommandRunner.run("eah-convert", ["convert", Fixtures.path("safetensors/with_metadata.safetensors"), "-o", directory.file("x.gguf")])
        #expect(plain.status == 1)
        #expect(plain.stderr.contains("cannot be written in llama.cpp's layout: "), "\(plain.stderr)")
        #expect(plain.stderr.contains("pass --keep-names"), "\(plain.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("x.gguf")))
        // llama.cpp's converters do not write q4_0.
        let q4 = try CommandRunner.run("eah-convert", ["convert", Self.model, "--dtype", "q4_0", "-o", directory.file("q.gguf")])
        #expect(q4.status == 1)
        #expect(q4.stderr.contains("cannot be written in llama.cpp's layout: llama.cpp's converters write f32, f16, bf16 or q8_0"), "\(q4.stderr)")
        // An existing mmproj is kept without --force, and the text model is not written either.
        let taken = directory.write("mmproj-pair.gguf", Array("precious".utf8))
        let pair = try CommandRunner.run("eah-convert", ["convert", Self.model, "-o", directory.file("pair.gguf")])
        #expect(pair.status == 2)
        #expect(pair.stderr == "eah-convert: \(taken): output already exists; pass --force to overwrite it, or choose another output path\n")
        #expect(!FileManager.default.fileExists(atPath: directory.file("pair.gguf")))
        #expect(try Data(contentsOf: URL(fileURLWithPath: taken)) == Data("precious".utf8))
        // A SentencePiece-style tokenizer.json without its tokenizer.model (not byte-level BPE either).
        let noSentencePiece = directory.file("no-spm")
        try FileManager.default.createDirectory(atPath: noSentencePiece, withIntermediateDirectories: false)
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.model) where name != "tokenizer.model" {
            try FileManager.default.copyItem(atPath: Self.model + "/" + name, toPath: noSentencePiece + "/" + name)
        }
        let tokenizer = try CommandRunner.run("eah-convert", ["convert", noSentencePiece, "-o", directory.file("t.gguf")])
        #expect(tokenizer.status == 1)
        #expect(tokenizer.stderr.hasPrefix("eah-convert: \(noSentencePiece): cannot be written in llama.cpp's layout: the tokenizer has no tokenizer.model, and its tokenizer.json is not byte-level BPE"), "\(tokenizer.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("t.gguf")))
        // Several feature layers (m3) have no legacy mmproj.
        let featureList = try CommandRunner.run("eah-convert", ["convert", LlavaFixtures.path("m3-featlist-headdim/hf-inmemory"), "-o", directory.file("m3.gguf")])
        #expect(featureList.status == 1)
        #expect(featureList.stderr.contains("cannot be written in llama.cpp's layout: several vision feature layers"), "\(featureList.stderr)")
    }
}

extension JSONValue {
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
