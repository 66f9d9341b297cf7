import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// Broken tokenizer files: each fails with its specific problem, naming the file, never crashing.
@Suite struct TokenizerMalformedTests {
    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("tokenizer/" + name))))
    }

    static func problem(_ body: () throws -> Void) -> (path: String, problem: (any CheckpointProblem)?) {
        do {
            try body()
            return ("", nil)
        } catch let error as CheckpointError {
            return (error.path, error.problem)
        } catch {
            return ("", nil)
        }
    }

    @Test func truncatedModelProtoIsInvalid() throws {
        let folder = TemporaryDirectory()
        let model = try Self.bytes("tokenizer.model")
        let path = folder.write("tokenizer.model", Array(model.prefix(model.count / 2)))
        let result = Self.problem { _ = try SentencePieceModelFile.load(path: path) }
        #expect(result.path == path)
        #expect(result.problem as? TokenizerProblem == .invalidModelProto(byteCount: model.count / 2))
        #expect(result.problem?.message.contains("sentencepiece.ModelProto") == true)
    }

    @Test func everyTruncationOfTheModelFailsCleanly() throws {
        let model = try Self.bytes("tokenizer.model")
        var failures = 0
        for length in stride(from: 0, to: model.count, by: 97) {
            let result = model.prefix(length).withUnsafeBytes { buffer in
                Result { () throws(TokenizerProblem) in try SentencePieceModelFile.vocabulary(serialized: buffer) }
            }
            if case .failure = result { failures += 1 }
        }
        #expect(failures > 0)
    }

    /// Issue 14, Deliver 2 (total allocation per file): protobuf-c's allocations while unpacking
    /// are charged to the file's budget. An empty piece is 2 bytes on the wire and a piece
    /// structure and its pointer in memory, so 4 M of them (8 MB) would take about 224 MB.
    @Test func aFloodOfTinyPiecesIsRefusedByTheAllocationBudget() throws {
        let flood: [UInt8] = (0..<(8 << 20)).map { $0 % 2 == 0 ? 0x0A : 0x00 }  // pieces {}, {}, ...
        let folder = TemporaryDirectory()
        let path = folder.write("tokenizer.model", flood)
        let result = Self.problem { _ = try SentencePieceModelFile.load(path: path) }
        #expect(result.path == path)
        #expect(result.problem as? TokenizerProblem == .allocationBudget(limit: AllocationBudget.tokenizerModel(size: flood.count).limit))
        #expect(AllocationBudget.tokenizerModel(size: flood.count).limit == 64 << 20 + 16 * (8 << 20))
        // A real model fits its budget, and not a budget far below its size.
        let model = try Self.bytes("tokenizer.model")
        #expect(throws: Never.self) { try model.withUnsafeBytes { try SentencePieceModelFile.vocabulary(serialized: $0) } }
        #expect(throws: TokenizerProblem.allocationBudget(limit: 4096)) {
            try model.withUnsafeBytes { try SentencePieceModelFile.vocabulary(serialized: $0, budget: AllocationBudget(limit: 4096)) }
        }
    }

    @Test func garbageIsNotAModel() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("tokenizer.model", Array("{\"not\": \"a protobuf\"}".utf8))
        let result = Self.problem { _ = try TokenizerFile.load(path: path) }
        #expect(result.path == path)
        #expect(result.problem as? TokenizerProblem == .invalidModelProto(byteCount: 21))
    }

    @Test func tokenizerJSONWithoutModel() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("tokenizer.json", Array("{\"version\": \"1.0\", \"added_tokens\": []}".utf8))
        let result = Self.problem { _ = try TokenizerJSONFile.load(path: path) }
        #expect(result.path == path)
        #expect(result.problem as? TokenizerProblem == .missingModel)
    }

    @Test func tokenizerJSONProblems() throws {
        func check(_ json: String, _ expected: TokenizerProblem) throws {
            let document = try JSONParser.parse(json)
            #expect(throws: expected) { _ = try TokenizerJSONFile.tokenizer(document: document) }
        }
        try check(#"{"model": {"type": "Unigram", "vocab": []}}"#, .unsupportedComponent("model type \"Unigram\""))
        try check(#"{"model": {"type": "BPE", "vocab": [1]}}"#, .malformedJSON(path: "model.vocab"))
        try check(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#, .invalidMerge("a b"))
        try check(#"{"model": {"type": "BPE", "vocab": {"a": 0}}, "normalizer": {"type": "NFKC"}}"#, .unsupportedComponent("normalizer NFKC"))
        try check(#"{"model": {"type": "BPE", "vocab": {"a": 0}}, "pre_tokenizer": {"type": "WhitespaceSplit"}}"#, .unsupportedComponent("pre-tokenizer WhitespaceSplit"))
        let json = try JSONParser.parse(String(decoding: try Self.bytes("tokenizer.json"), as: UTF8.self))
        #expect(throws: Never.self) { _ = try TokenizerJSONFile.tokenizer(document: json) }
    }

    @Test func truncatedTokenizerJSONIsAJSONProblem() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("tokenizer.json", Array(try Self.bytes("tokenizer.json").prefix(1000)))
        let result = Self.problem { _ = try TokenizerJSONFile.load(path: path) }
        #expect(result.path == path)
        #expect(result.problem is JSONProblem)
    }

    @Test func ggufWithoutTokenizerKeys() throws {
        let path = Fixtures.path("gguf/all_types.gguf")
        let result = Self.problem { _ = try GGUFTokenizerMetadata.load(path: path) }
        #expect(result.path == path)
        #expect(result.problem as? TokenizerProblem == .missingTokenizerMetadata(key: "tokenizer.ggml.model"))
    }

    @Test func ggufMetadataProblems() throws {
        let model = MetadataEntry(key: "tokenizer.ggml.model", value: .string("llama"))
        let tokens = MetadataEntry(key: "tokenizer.ggml.tokens", value: .array(element: .string, [.string("<unk>"), .string("a")]))
        #expect(throws: TokenizerProblem.missingTokenizerMetadata(key: "tokenizer.ggml.tokens")) {
            _ = try GGUFTokenizerMetadata.vocabulary(metadata: [model])
        }
        #expect(throws: TokenizerProblem.unsupportedGGUFTokenizer("gpt2")) {
            _ = try GGUFTokenizerMetadata.vocabulary(metadata: [MetadataEntry(key: "tokenizer.ggml.model", value: .string("gpt2")), tokens])
        }
        #expect(throws: TokenizerProblem.malformedMetadata(key: "tokenizer.ggml.scores", reason: "is not an array of 2 numbers")) {
            _ = try GGUFTokenizerMetadata.vocabulary(metadata: [model, tokens, MetadataEntry(key: "tokenizer.ggml.scores", value: .array(element: .float32, [.float32(0)]))])
        }
        #expect(throws: TokenizerProblem.invalidSpecialID(which: "bos", id: 7, vocabularySize: 2)) {
            _ = try GGUFTokenizerMetadata.vocabulary(metadata: [model, tokens, MetadataEntry(key: "tokenizer.ggml.bos_token_id", value: .uint32(7))])
        }
        #expect(throws: TokenizerProblem.duplicatePiece("a", id: 2)) {
            _ = try GGUFTokenizerMetadata.vocabulary(metadata: [model, MetadataEntry(key: "tokenizer.ggml.tokens", value: .array(element: .string, [.string("<unk>"), .string("a"), .string("a")]))])
        }
    }

    @Test func decodingAnUnknownIDIsAUsageError() throws {
        let tokenizer = try SentencePieceModelFile.load(path: Fixtures.path("tokenizer/tokenizer.model"))
        #expect(throws: TokenizerProblem.idOutOfRange(1500, vocabularySize: 1500)) { _ = try tokenizer.decode([1, 1500]) }
        #expect(throws: TokenizerProblem.idOutOfRange(-1, vocabularySize: 1500)) { _ = try tokenizer.decode([-1]) }
        #expect(TokenizerProblem.idOutOfRange(-1, vocabularySize: 1500).isUsageError)
    }
}
