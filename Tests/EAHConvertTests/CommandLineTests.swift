import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// The command lines at their edges, as a new user meets them: typos named first with the
/// nearest valid name, ignored combinations refused, every error one line.
@Suite("command lines that never mislead")
struct CommandLineTests {
    static let model = Fixtures.path("e2e/tiny-llava-hf")
    static let image = Fixtures.path("e2e/rgb_37x53_420.jpg")

    /// Exit status 2 and exactly one line on stderr, `TOOL: message`.
    static func expectUsage(_ tool: String, _ arguments: [String], _ message: String,
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try CommandRunner.run(tool, arguments)
        #expect(result.status == 2, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr == "\(tool): \(message)\n", sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
    }

    @Test("a mistyped subcommand is named with the nearest one, not swallowed by the main job")
    func mistypedSubcommand() throws {
        try Self.expectUsage("eah-convert", ["inspct", Self.model],
                             "unknown subcommand 'inspct'; did you mean 'inspect'? the subcommands are bundle, inspect, convert, tokenize, template, preprocess, calibrate, patch, unpatch, eval, help")
        try Self.expectUsage("eah-convert", ["help", "nosuch"],
                             "unknown subcommand 'nosuch'; the subcommands are bundle, inspect, convert, tokenize, template, preprocess, calibrate, patch, unpatch, eval, help")
        let help = try CommandRunner.run("eah-convert", ["help", "inspect"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE: eah-convert inspect"))
    }

    @Test("a mistyped option comes before any other check")
    func mistypedOption() throws {
        try Self.expectUsage("eah-run", [Self.model, "--image", Self.image, "--promt", "hi"],
                             "unknown option --promt; did you mean --prompt? 'eah-run --help' lists the options")
        try Self.expectUsage("eah-convert", ["calibrate", Self.model, "--dat", "x", "-o", "r.json"],
                             "unknown option --dat; did you mean --data? 'eah-convert calibrate --help' lists the options")
        // Nothing close: no suggestion.
        try Self.expectUsage("eah-run", [Self.model, "--frobnicate"], "unknown option --frobnicate; 'eah-run --help' lists the options")
    }

    @Test("options given twice and options a combination would ignore are refused")
    func ignoredCombinations() throws {
        let base = [Self.model, "--image", Self.image, "--prompt", "hi"]
        try Self.expectUsage("eah-run", base + ["--image", Self.image], "--image is given twice; give it once")
        try Self.expectUsage("eah-run", base + ["--temp", "0.5", "--temperature", "0.7"], "--temperature is given twice (also as --temp); give it once")
        try Self.expectUsage("eah-run", base + ["--eah-beta", "0.01"],
                             "--eah-beta and --eah-phase apply to --eah-layer only; add --eah-layer or drop them")
        try Self.expectUsage("eah-run", base + ["--top-p", "0.9"],
                             "--top-p, --top-k, --min-p and --seed shape sampling, and decoding is greedy: add --temperature above 0 or drop them")
        try Self.expectUsage("eah-run", base + ["--seed", "3"],
                             "--top-p, --top-k, --min-p and --seed shape sampling, and decoding is greedy: add --temperature above 0 or drop them")
        try Self.expectUsage("eah-run", base + ["--mmproj", Self.model + "/config.json"],
                             "--mmproj goes with a text-model GGUF; a model folder brings its own vision tower: drop --mmproj")
        try Self.expectUsage("eah-run", base + ["--port", "9000"],
                             "--host, --port, --queue-size, --max-request-mib and --max-image-mib apply to --serve only")
        try Self.expectUsage("eah-run", base + ["--force"], "--force applies to --logits-out only")
        try Self.expectUsage("eah-run", [Self.model, "--image", Self.image], "--image and --prompt go together")
        try Self.expectUsage("eah-run", [Self.model, "--image", Self.image, "--prompt", "<image>\nWhat is it?"],
                             "--prompt contains <image>: the conversation template inserts the image; remove <image> from the prompt")
        let piped = try CommandRunner.run("eah-run", [Self.model, "--image", Self.image, "-p", "-"], standardInput: Data("What is <image>?".utf8))
        #expect(piped.status == 2)
        #expect(piped.stderr == "eah-run: the prompt on standard input contains <image>: the conversation template inserts the image; remove <image> from the prompt\n")
        try Self.expectUsage("eah-convert", ["calibrate", "--merge", "a.json", "--beta", "0.01", "-o", "m.json"],
                             "--merge takes only reports, -o and --force: the model, data and calibration settings come from the reports")
        try Self.expectUsage("eah-convert", ["calibrate", Self.model, "--data", "d.jsonl", "-o", "report.svg"],
                             "-o names the JSON report and the heatmap goes beside it as .svg: give -o report.json")
        try Self.expectUsage("eah-convert", ["eval", Self.model, "--data", "a.json", "--metric", "chair", "--shard", "2/2"],
                             "--shard '2/2' is not I/N with 0 ≤ I < N, e.g. --shard 0/4")
        try Self.expectUsage("eah-convert", ["eval", "--merge", "a.json", "b.json"], "--merge writes the merged result: add -o RESULT")
        try Self.expectUsage("eah-convert", ["eval", Self.model, "--data", "a.json", "--metric", "pope", "--answers-out", "x", "--captions-out", "y"],
                             "--synonyms, --reference-captions and --captions-out apply to --metric chair only")
        try Self.expectUsage("eah-convert", ["eval", Self.model, "--data", "a.json", "--metric", "chair", "--seed", "1"],
                             "--pope-sampling and --seed apply to --metric pope only")
    }

    @Test("argument parser errors are one line too")
    func parserErrorsOneLine() throws {
        try Self.expectUsage("eah-run", [Self.model, "--image", Self.image, "--prompt", "hi", "--max-tokens", "many"],
                             "The value 'many' is invalid for '--max-tokens <max-tokens>'")
        let missing = try CommandRunner.run("eah-convert", ["inspect"])
        #expect(missing.status == 2)
        #expect(missing.stderr.hasPrefix("eah-convert: ") && missing.stderr.filter { $0 == "\n" }.count == 1, "\(missing.stderr)")
    }

    @Test("llama.cpp's short flags; a seeded sample repeats, an unseeded one reports its seed")
    func shortFlagsAndSeeds() throws {
        func run(_ extra: [String]) throws -> JSONValue {
            let result = try CommandRunner.run("eah-run", ["-m", Self.model, "--image", Self.image, "-p", "What is it?", "-n", "6", "-t", "1",
                                                           "--json"] + extra)
            #expect(result.status == 0, "\(result.stderr)")
            return try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let seeded = try run(["--temp", "1.5", "-s", "7", "--top-k", "50", "--min-p", "0.01", "--repeat-penalty", "1.1"])
        #expect(seeded["sampling"] == .object([("temperature", .number(1.5)), ("top_p", .integer(1)), ("top_k", .integer(50)),
                                                ("min_p", .number(0.01)), ("seed", .integer(7)), ("repeat_penalty", .number(1.1))]))
        let again = try run(["--temp", "1.5", "-s", "7", "--top-k", "50", "--min-p", "0.01", "--repeat-penalty", "1.1"])
        #expect(again["tokens"] == seeded["tokens"])
        let first = try run(["--temp", "1.5"]), second = try run(["--temp", "1.5"])
        let seeds = [first, second].map { $0["sampling"]?["seed"] }
        #expect(seeds.allSatisfy { if case .integer? = $0 { true } else if case .string? = $0 { true } else { false } })
        #expect(seeds[0] != seeds[1])
        let greedy = try run([])
        #expect(greedy["sampling"] == .object([("temperature", .integer(0)), ("repeat_penalty", .integer(1))]))
        try Self.expectUsage("eah-run", [Self.model, "-m", Self.model, "--image", Self.image, "-p", "hi"], "give the model once: as the argument or with -m")
    }

    @Test("--dtype and --to take upper case")
    func upperCaseTypes() throws {
        let directory = TemporaryDirectory()
        let output = directory.file("out.gguf")
        let result = try CommandRunner.run("eah-convert", ["convert", Self.model + "/model.safetensors", "-o", output, "--to", "GGUF", "--dtype", "F16", "--keep-names"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("(gguf, dtype f16)"))
    }

    /// Runs `arguments` under `script`, so standard error is a terminal, and returns what it wrote.
    static func onTerminal(_ arguments: [String], environment: String) throws -> String {
        let command = arguments.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let result = try CommandRunner.run(executable: "/usr/bin/script", ["-qec", "env \(environment) " + command, "/dev/null"])
        return result.stdout
    }

    @Test("on a terminal the bar draws; NO_COLOR draws it without escape codes; -q silences it")
    func progressOnTerminal() throws {
        let directory = TemporaryDirectory()
        let convert = [CommandRunner.productsFolder + "/eah-convert", "convert", Self.model + "/model.safetensors", "--dtype", "f16", "--force"]
        let colour = try Self.onTerminal(convert + ["-o", directory.file("a.safetensors")], environment: "-u NO_COLOR TERM=xterm")
        #expect(colour.contains("converting") && colour.contains("\u{1b}[K"), "\(colour)")
        let plain = try Self.onTerminal(convert + ["-o", directory.file("b.safetensors")], environment: "NO_COLOR=1")
        #expect(plain.contains("converting") && !plain.contains("\u{1b}"), "\(plain)")
        let quiet = try Self.onTerminal(convert + ["-o", directory.file("c.safetensors"), "-q"], environment: "-u NO_COLOR TERM=xterm")
        #expect(!quiet.contains("converting") && quiet.contains("wrote"), "\(quiet)")
    }
}
