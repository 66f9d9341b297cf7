import EAHCheckpoint
import EAHTestSupport
import Foundation

/// The records `tools/make_tokenizer_fixtures.py` wrote to `tokenizer/corpus.jsonl` and
/// `tokenizer/decode.jsonl`.
struct TokenizerCorpus {
    struct Entry: Sendable {
        let text: String
        /// sentencepiece's ids without BOS, and its decode of them.
        let spm: [Int]
        let spmDecoded: String
        /// tokenizers (tokenizer.json) with special tokens; without them when it differs from dropping BOS.
        let hf: [Int]
        let hfPlain: [Int]?
        let hfDecoded: String
        let hfDecodedSkippingSpecial: String
        /// tokenizers on tokenizer-metaspace.json, with special tokens.
        let metaspace: [Int]
    }

    struct DecodeCase: Sendable {
        let ids: [Int]
        let spm: String
        let hfIDs: [Int]
        let hf: String
        let hfSkippingSpecial: String
    }

    struct Malformed: Error {}

    static let entries: [Entry] = (try? loadEntries()) ?? []
    static let decodeCases: [DecodeCase] = (try? loadDecodeCases()) ?? []

    static func lines(_ name: String) throws -> [JSONValue] {
        try records(path: Fixtures.path("tokenizer/" + name))
    }

    /// The JSON records of a JSON-lines file.
    static func records(path: String) throws -> [JSONValue] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONParser.parse([UInt8]($0)) }
    }

    static func ints(_ value: JSONValue?) throws -> [Int] {
        guard case .array(let items) = value else { throw Malformed() }
        return try items.map { item in
            guard case .integer(let number) = item else { throw Malformed() }
            return number
        }
    }

    static func string(_ value: JSONValue?) throws -> String {
        guard case .string(let text) = value else { throw Malformed() }
        return text
    }

    static func loadEntries() throws -> [Entry] {
        try lines("corpus.jsonl").map { record in
            Entry(text: try string(record["text"]), spm: try ints(record["spm"]), spmDecoded: try string(record["spm_decoded"]),
                  hf: try ints(record["hf"]), hfPlain: record["hf_plain"] == .null ? nil : try ints(record["hf_plain"]),
                  hfDecoded: try string(record["hf_decoded"]), hfDecodedSkippingSpecial: try string(record["hf_decoded_skip"]),
                  metaspace: try ints(record["meta"]))
        }
    }

    static func loadDecodeCases() throws -> [DecodeCase] {
        try lines("decode.jsonl").map { record in
            DecodeCase(ids: try ints(record["ids"]), spm: try string(record["spm"]), hfIDs: try ints(record["hf_ids"]),
                       hf: try string(record["hf"]), hfSkippingSpecial: try string(record["hf_skip"]))
        }
    }
}
