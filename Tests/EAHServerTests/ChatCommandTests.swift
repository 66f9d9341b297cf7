import EAH
import EAHTestSupport
import Foundation
import Testing

@Suite("eah-run --chat, standard input, --version")
struct ChatCommandTests {
    static func question(_ model: String, _ extra: [String] = []) throws -> String {
        let result = try CommandRunner.run("eah-run", [model, "--image", DemoModel.image(0), "--prompt", "Describe the image.", "--max-tokens", "24"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout
    }

    @Test("a piped conversation: the first answer is eah-run's, one line per answer, /reset and /quit")
    func pipedChat() throws {
        let script = "/image \(DemoModel.image(0))\nDescribe the image.\nWhat shapes are there?\n/reset\nDescribe the image.\n/quit\nnever read\n"
        let result = try CommandRunner.run("eah-run", [DemoModel.path, "--chat", "--max-tokens", "24"], standardInput: Data(script.utf8))
        #expect(result.status == 0, "\(result.stderr)")
        let answers = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(answers.count == 4, "\(answers)")  // three answers and the empty string after the last newline
        #expect(answers.first.map { $0 + "\n" } == (try Self.question(DemoModel.path)))
        #expect(result.stderr.isEmpty, "notices are for terminals only")
    }

    @Test("--chat with a bundle applies its EAH; --no-eah does not")
    func chatEAH() throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", DemoModel.path, "-o", bundle, "--head", "0:0", "--head", "1:0"])
        #expect(patch.status == 0, "\(patch.stderr)")
        for extra in [[], ["--no-eah"]] {
            let result = try CommandRunner.run("eah-run", [bundle, "--chat", "--image", DemoModel.image(0), "--max-tokens", "24"] + extra,
                                               standardInput: Data("Describe the image.\n".utf8))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == (try Self.question(bundle, extra)), "\(extra)")
        }
    }

    @Test("a bad /image or an unknown command is reported and the chat goes on")
    func chatErrors() throws {
        let script = "/image /nonexistent.png\n/frobnicate\nDescribe the image.\n"
        let result = try CommandRunner.run("eah-run", [DemoModel.path, "--chat", "--max-tokens", "4"], standardInput: Data(script.utf8))
        #expect(result.status == 0)
        #expect(result.stderr.contains("/nonexistent.png: no such image file"))
        #expect(result.stderr.contains("unknown command /frobnicate; /help lists them"))
        #expect(result.stdout.split(separator: "\n").count == 1)
    }

    @Test("--prompt - and --image - read standard input")
    func standardInput() throws {
        let expected = try Self.question(DemoModel.path)
        let prompt = try CommandRunner.run("eah-run", [DemoModel.path, "--image", DemoModel.image(0), "--prompt", "-", "--max-tokens", "24"],
                                           standardInput: Data("Describe the image.\n".utf8))
        #expect(prompt.stdout == expected, "\(prompt.stderr)")
        let image = try CommandRunner.run("eah-run", [DemoModel.path, "--image", "-", "--prompt", "Describe the image.", "--max-tokens", "24"],
                                          standardInput: try Data(contentsOf: URL(fileURLWithPath: DemoModel.image(0))))
        #expect(image.stdout == expected, "\(image.stderr)")
        let garbage = try CommandRunner.run("eah-run", [DemoModel.path, "--image", "-", "--prompt", "Hi"], standardInput: Data("not an image".utf8))
        #expect(garbage.status == 1)
        #expect(garbage.stderr.hasPrefix("eah-run: standard input: "))
        let both = try CommandRunner.run("eah-run", [DemoModel.path, "--image", "-", "--prompt", "-"])
        #expect(both.status == 2)
        #expect(both.stderr.contains("--image - and --prompt - cannot both read standard input"))
    }

    @Test("bad usage of --chat and --serve")
    func usage() throws {
        let cases: [([String], String)] = [
            (["--chat", "--serve"], "--chat and --serve exclude each other"),
            (["--chat", "--prompt", "hi"], "--chat takes none of --prompt"),
            (["--serve", "--image", DemoModel.image(0)], "--serve takes no --image or --system-prompt"),
            (["--serve", "--port", "70000"], "--port must be in 0...65535"),
        ]
        for (arguments, message) in cases {
            let result = try CommandRunner.run("eah-run", [DemoModel.path] + arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }

    @Test("--version prints the version manifests record", arguments: ["eah-run", "eah-convert"])
    func version(_ tool: String) throws {
        let result = try CommandRunner.run(tool, ["--version"])
        #expect(result.status == 0)
        #expect(result.stdout == EAHVersion.current + "\n")
    }
}
