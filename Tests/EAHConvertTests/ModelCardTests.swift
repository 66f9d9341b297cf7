import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// Bundles keep the model card; `convert` of a model folder writes a folder that runs.
@Suite("model cards and runnable converted folders")
struct ModelCardTests {
    /// The tiny e2e model with a LICENSE and a README, in `directory`.
    static func modelWithCard(in directory: TemporaryDirectory) throws -> String {
        let model = directory.file("tiny")
        try FileManager.default.copyItem(atPath: Fixtures.path("e2e/tiny-llava-hf"), toPath: model)
        directory.write("tiny/LICENSE", Array("Apache License 2.0 (test)\n".utf8))
        directory.write("tiny/README.md", Array("---\nlicense: apache-2.0\n---\n# Tiny LLaVA\n\nA random test model.\n".utf8))
        return model
    }

    @Test("a bundle copies LICENSE and README and appends an EAH section naming its patches")
    func bundleCard() throws {
        let directory = TemporaryDirectory()
        let model = try Self.modelWithCard(in: directory)
        let bundle = directory.file("tiny-eah")
        let result = try CommandRunner.run("eah-convert", ["patch", model, "--head", "1:2", "-o", bundle])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try String(contentsOfFile: bundle + "/LICENSE", encoding: .utf8) == "Apache License 2.0 (test)\n")
        let readme = try String(contentsOfFile: bundle + "/README.md", encoding: .utf8)
        let original = "---\nlicense: apache-2.0\n---\n# Tiny LLaVA\n\nA random test model.\n"
        #expect(readme.hasPrefix(original + "\n\n<!-- eah: the section below describes the EAH patch of this bundle -->\n## EAH patch\n"))
        #expect(readme.contains("| 1 | 2 | static | 0.002 | prefill | all |"))
        #expect(readme.contains("eah-run BUNDLE --image photo.jpg --prompt \"Describe the image.\" --no-eah"))
        // The bundle still verifies and runs.
        let run = try CommandRunner.run("eah-run", [bundle, "--image", Fixtures.path("e2e/rgb_37x53_420.jpg"), "-p", "Hi", "-n", "2"])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("unpatch restores the source README exactly, without the EAH section")
    func unpatchedCard() throws {
        let directory = TemporaryDirectory()
        let model = try Self.modelWithCard(in: directory)
        let bundle = directory.file("baked"), plain = directory.file("plain")
        #expect(try CommandRunner.run("eah-convert", ["patch", model, "--head", "1:2", "--bake", "-o", bundle]).status == 0)
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", bundle, "-o", plain])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        for name in ["README.md", "LICENSE"] {
            #expect(try Data(contentsOf: URL(fileURLWithPath: plain + "/" + name)) == (try Data(contentsOf: URL(fileURLWithPath: model + "/" + name))), "\(name)")
        }
    }

    @Test("convert MODEL_FOLDER -o FOLDER writes a folder that answers as the source does")
    func runnableFolder() throws {
        let directory = TemporaryDirectory()
        let model = try Self.modelWithCard(in: directory)
        let output = directory.file("converted")
        let result = try CommandRunner.run("eah-convert", ["convert", model, "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: output).filter { !$0.hasPrefix(".") }.sorted()
        #expect(files == ["LICENSE", "README.md", "chat_template.jinja", "config.json", "generation_config.json", "model.safetensors",
                          "processor_config.json", "tokenizer.json", "tokenizer_config.json"])
        func answer(_ path: String) throws -> String {
            let run = try CommandRunner.run("eah-run", [path, "--image", Fixtures.path("e2e/rgb_37x53_420.jpg"), "-p", "What is it?", "-n", "6", "--json"])
            #expect(run.status == 0, "\(run.stderr)")
            // The answer without its timings, which vary run to run.
            return String(run.stdout.prefix { $0 != "\n" }.split(separator: ",\"timings\":").first ?? "")
        }
        #expect(try answer(output) == (try answer(model)))
        let gguf = try CommandRunner.run("eah-convert", ["convert", model, "-o", directory.file("other"), "--to", "gguf"])
        #expect(gguf.status == 2)
        #expect(gguf.stderr == "eah-convert: a model folder converts into a folder of safetensors; for GGUF name the output file .gguf\n")
    }
}
