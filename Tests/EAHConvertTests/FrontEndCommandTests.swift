import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// `eah-convert tokenize` and `preprocess` against the reference libraries' outputs.
@Suite("eah-convert tokenize and preprocess")
struct FrontEndCommandTests {
    /// The corpus lines with sentencepiece's ids (tools/make_tokenizer_fixtures.py).
    static func corpus(limit: Int) throws -> [(text: String, ids: [Int])] {
        let file = try MappedFile(path: Fixtures.path("tokenizer/corpus.jsonl"))
        let lines = withExtendedLifetime(file) { String(decoding: file.bytes, as: UTF8.self) }.split(separator: "\n")
        return try lines.prefix(limit).map { line in
            let entry = try JSONParser.parse(String(line))
            guard case .string(let text)? = entry["text"], case .array(let ids)? = entry["spm"] else { throw FixtureError.malformed }
            return (text, ids.compactMap { if case .integer(let id) = $0 { id } else { nil } })
        }
    }

    enum FixtureError: Error { case malformed }

    @Test("--jsonl gives sentencepiece's ids line by line, in order")
    func tokenizeJSONL() throws {
        let corpus = try Self.corpus(limit: 300)
        let directory = TemporaryDirectory()
        let input = directory.write("lines.jsonl", Array(corpus.map { JSONValue.string($0.text).serialized }.joined(separator: "\n").utf8))
        let result = try CommandRunner.run("eah-convert", ["tokenize", Fixtures.path("tokenizer/tokenizer.model"), "--jsonl", input, "--no-bos"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == corpus.count)
        for (line, entry) in zip(lines, corpus) {
            #expect(try JSONParser.parse(String(line)) == .array(entry.ids.map(JSONValue.integer)), "\(entry.text)")
        }
    }

    @Test("TEXT with --json; a model folder finds its tokenizer")
    func tokenizeText() throws {
        let corpus = try Self.corpus(limit: 40)
        let entry = try #require(corpus.first { $0.text.count > 5 })
        let result = try CommandRunner.run("eah-convert", ["tokenize", Fixtures.path("tokenizer/tokenizer.model"), entry.text, "--json"])
        #expect(result.status == 0)
        #expect(try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines)) == .object([
            ("schema", .integer(1)), ("ids", .array(([1] + entry.ids).map(JSONValue.integer))),
        ]))
        let folder = try CommandRunner.run("eah-convert", ["tokenize", Fixtures.path("e2e/tiny-llava-hf"), "USER: <image>\nHi"])
        #expect(folder.status == 0, "\(folder.stderr)")
        #expect(folder.stdout.contains(" 1500 "))
    }

    @Test("a folder with vocab.json and merges.txt but no tokenizer.json tokenizes as transformers does")
    func tokenizeVocabMergesFolder() throws {
        let lines = try String(contentsOfFile: Fixtures.path("tokenizer-vocab-merges/expected.jsonl"), encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONParser.parse(String($0)) }
        let record = try #require(records.first { $0["text"] == .string("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n") })
        guard case .string(let text)? = record["text"], let ids = record["qwen2"] else { Issue.record("fixture record"); return }
        let result = try CommandRunner.run("eah-convert", ["tokenize", Fixtures.path("tokenizer-vocab-merges/qwen2"), text, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines)) == .object([("schema", .integer(1)), ("ids", ids)]))

        let directory = TemporaryDirectory()
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: Fixtures.path("tokenizer-vocab-merges/gpt2/" + name), toPath: directory.file(name))
        }
        directory.write("tokenizer_config.json", Array(#"{"tokenizer_class": "BertTokenizer"}"#.utf8))
        let refused = try CommandRunner.run("eah-convert", ["tokenize", directory.path, "hi"])
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("eah-convert: \(directory.file("tokenizer_config.json")): tokenizer_class \"BertTokenizer\" is not one eah builds"))
    }

    @Test("an InternVL release folder with vocab.json and merges.txt instead of its tokenizer.json tokenizes and answers as with it")
    func internVLWithoutTokenizerJSON() throws {
        let original = Fixtures.path("internvl/internvl/original"), directory = TemporaryDirectory()
        let folder = directory.file("internvl")
        try FileManager.default.copyItem(atPath: original, toPath: folder)
        // The vocabulary and merges of its tokenizer.json as a release ships them; its added
        // tokens are already in tokenizer_config.json's added_tokens_decoder.
        let document = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/tokenizer.json"))))
        guard let vocab = document["model"]?["vocab"], case .array(let merges)? = document["model"]?["merges"] else { Issue.record("tokenizer.json"); return }
        directory.write("internvl/vocab.json", Array(vocab.serialized.utf8))
        let lines = try merges.map { pair throws -> String in
            guard case .array(let parts) = pair, case .string(let left)? = parts.first, case .string(let right)? = parts.last else { throw CocoaError(.coderInvalidValue) }
            return left + " " + right + "\n"
        }
        directory.write("internvl/merges.txt", Array(("#version: 0.2\n" + lines.joined()).utf8))
        try FileManager.default.removeItem(atPath: folder + "/tokenizer.json")
        let text = "<|im_start|>user\n<img><IMG_CONTEXT></img>\nDescribe   it: 12 cafe\u{301}s.<|im_end|>\n<|im_start|>assistant\n"
        let withJSON = try CommandRunner.run("eah-convert", ["tokenize", original, text])
        let without = try CommandRunner.run("eah-convert", ["tokenize", folder, text])
        #expect(withJSON.status == 0 && without.status == 0, "\(without.stderr)")
        #expect(!without.stdout.isEmpty && without.stdout == withJSON.stdout)
        let question = ["--image", Fixtures.path("images/valid/rgb_37x53.png"), "--prompt", "Describe it.", "--max-tokens", "5"]
        let answer = try CommandRunner.run("eah-run", [folder] + question), reference = try CommandRunner.run("eah-run", [original] + question)
        #expect(answer.status == 0, "\(answer.stderr)")
        #expect(!reference.stdout.isEmpty && answer.stdout == reference.stdout)
        // A bundle of it carries the files; without EAH it answers as the folder does.
        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", folder, "-o", bundle, "--head", "0:0"])
        #expect(patch.status == 0, "\(patch.stderr)")
        #expect(FileManager.default.fileExists(atPath: bundle + "/vocab.json") && FileManager.default.fileExists(atPath: bundle + "/merges.txt"))
        let bundled = try CommandRunner.run("eah-run", [bundle, "--no-eah"] + question)
        #expect(bundled.status == 0 && bundled.stdout == reference.stdout, "\(bundled.stderr)")
    }

    @Test("a line that is not a JSON string is bad input naming the line")
    func tokenizeBadLine() throws {
        let directory = TemporaryDirectory()
        let input = directory.write("lines.jsonl", Array("\"fine\"\n{\"text\": 1}\n".utf8))
        let result = try CommandRunner.run("eah-convert", ["tokenize", Fixtures.path("tokenizer/tokenizer.model"), "--jsonl", input])
        #expect(result.status == 1)
        #expect(result.stderr == "eah-convert: \(input): line 2 is not a JSON string; write one JSON string per line, e.g. \"a photo of a cat\"\n")
    }

    @Test("preprocess writes transformers' pixel values", arguments: ["crop", "pad"])
    func preprocess(_ mode: String) throws {
        let directory = TemporaryDirectory()
        let output = directory.file("pv.safetensors")
        let image = "rgb_301x97_444.jpg"
        let result = try CommandRunner.run("eah-convert", ["preprocess", "--processor", Fixtures.path("images/configs/small"), "--mode", mode,
                                                          Fixtures.path("images/valid/" + image), "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        let reader = try SafetensorsReader(path: output)
        let tensor = try #require(reader.tensor(named: "pixel_values"))
        #expect(tensor.shape == [1, 3, 24, 24])
        let mine = try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let expected = try SafetensorsReader(path: Fixtures.path("images/pixel_values_small.safetensors"))
        let reference = try #require(expected.tensor(named: "\(image)|\(mode)"))
        let theirs = try expected.bytes(of: reference).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(mine == theirs)
    }

    @Test("a truncated image is bad input; no output is written")
    func preprocessBadImage() throws {
        let directory = TemporaryDirectory()
        let result = try CommandRunner.run("eah-convert", ["preprocess", "--processor", Fixtures.path("images/configs/small"),
                                                          Fixtures.path("images/invalid/header_only.jpg"), "-o", directory.file("pv.safetensors")])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("eah-convert: \(Fixtures.path("images/invalid/header_only.jpg")): "))
        #expect(directory.contents.isEmpty)
    }
}
