import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import Dispatch

/// `eah-bench tokenize VOCAB_DIR TEXT_PATH [REFERENCE_JSON]`: tokenization throughput on the
/// 10 MB mixed text tools/bench_tokenizers.py writes, with the real vocabularies
/// tools/fetch_real_tokenizers.py fetches (Gemma 3's GGUF, Mistral v3 as tokenizer.model and
/// tokenizer.json). REFERENCE_JSON holds that script's JSON lines from the same run; each line
/// printed here then carries the reference library's MB/s on the same vocabulary and the ratio.
/// The text is encoded as its lines (as prompts are), spread over every core like the
/// references' batch encoders.
enum TokenizerBenchmark {
    /// (name, file, reference vocabulary key).
    static let cases = [
        ("gemma-3.gguf", "gemma-3-270m-q4_k_m.gguf", "gemma-3"),
        ("mistral-v3.model", "mistral-v3.model", "mistral-v3.model"),
        ("mistral-v3.json", "mistral-v3.json", "mistral-v3"),
    ]

    static func run(folder: String, textPath: String, referencePath: String?) -> Int32 {
        let references = referencePath.map(readReferences) ?? [:]
        let text: String
        do {
            let file = try MappedFile(path: textPath)
            text = String(decoding: file.bytes, as: UTF8.self)
        } catch {
            StandardStream.error.write("eah-bench: \(error)\n")
            return 1
        }
        let megabytes = Double(text.utf8.count) / 1e6
        // Lines with their line feeds, as Python's splitlines(keepends=True) cuts this text.
        var lines: [String] = []
        var start = text.utf8.startIndex
        for index in text.utf8.indices where text.utf8[index] == 0x0A {
            let end = text.utf8.index(after: index)
            lines.append(String(text[start..<end]))
            start = end
        }
        if start < text.utf8.endIndex { lines.append(String(text[start...])) }
        for (name, file, key) in cases {
            let path = folder + "/" + file
            guard access(path, R_OK) == 0 else {
                StandardStream.error.write("eah-bench: \(path) missing; tools/fetch_real_tokenizers.py fetches it\n")
                continue
            }
            let tokenizer: any Tokenizer
            do {
                tokenizer = try TokenizerFile.load(path: path)
            } catch {
                StandardStream.error.write("eah-bench: \(error)\n")
                return 1
            }
            var count = 0
            let seconds = MatmulBenchmark.best(runs: 2) { count = encode(lines, with: tokenizer) }
            let speed = megabytes / seconds
            var fields: [(String, JSONValue)] = [
                ("schema", .integer(1)), ("benchmark", .string("tokenize")), ("vocabulary", .string(name)),
                ("megabytes", .number(MatmulBenchmark.rounded(megabytes, 3))), ("tokens", .integer(count)),
                ("seconds", .number(MatmulBenchmark.rounded(seconds, 4))), ("mb_per_s", .number(MatmulBenchmark.rounded(speed, 3))),
            ]
            if let reference = references[key] {
                fields += [("reference", .string(reference.library)), ("reference_mb_per_s", .number(reference.speed)),
                           ("reference_tokens", .integer(reference.tokens)),
                           ("ratio_to_reference", .number(MatmulBenchmark.rounded(speed / reference.speed, 3)))]
            }
            print(JSONValue.object(fields).serialized)
        }
        return 0
    }

    /// The number of ids of `lines`, encoded in chunks on every core.
    static func encode(_ lines: [String], with tokenizer: any Tokenizer) -> Int {
        let chunks = 64
        nonisolated(unsafe) let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: chunks)
        defer { counts.deallocate() }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var count = 0
            for index in stride(from: chunk, to: lines.count, by: chunks) { count += tokenizer.encode(lines[index], addBOS: false).count }
            counts[chunk] = count
        }
        return counts.reduce(0, +)
    }

    /// The reference lines by vocabulary.
    static func readReferences(_ path: String) -> [String: (library: String, speed: Double, tokens: Int)] {
        guard let file = fopen(path, "r") else { return [:] }
        defer { fclose(file) }
        var result: [String: (library: String, speed: Double, tokens: Int)] = [:]
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            guard let value = try? JSONParser.parse(String(cString: line)),
                  case .string(let vocabulary)? = value["vocabulary"], case .string(let library)? = value["library"],
                  case .integer(let tokens)? = value["tokens"]
            else { continue }
            switch value["mb_per_s"] {
            case .number(let speed)?: result[vocabulary] = (library, speed, tokens)
            case .integer(let speed)?: result[vocabulary] = (library, Double(speed), tokens)
            default: continue
            }
        }
        return result
    }
}
