import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

@Suite("eah-convert inspect")
struct InspectCommandTests {
    @Test("--json lists a GGUF's tensors row-major with ggml type names")
    func jsonForGGUF() throws {
        let result = try CommandRunner.run("eah-convert", ["inspect", Fixtures.path("convert/tiny-llama-q8_0.gguf"), "--json"])
        #expect(result.status == 0)
        let document = try JSONParser.parse(Array(result.stdout.utf8))
        #expect(document["schema"] == .integer(1))
        #expect(document["format"] == .string("gguf"))
        #expect(document["metadata"]?["general.architecture"] == .string("llama"))
        guard case .array(let tensors) = document["tensors"] else { Issue.record("no tensors"); return }
        // Shapes as torch made them in tools/make_convert_fixtures.py: down_proj is [hidden 64, inter 96].
        let downProjection = tensors.first { $0["name"] == .string("model.layers.0.mlp.down_proj.weight") }
        #expect(downProjection?["dtype"] == .string("Q8_0"))
        #expect(downProjection?["shape"] == .array([.integer(64), .integer(96)]))
        let norm = tensors.first { $0["name"] == .string("model.norm.weight") }
        #expect(norm?["dtype"] == .string("F32"))
        #expect(norm?["shape"] == .array([.integer(64)]))
        let odd = tensors.first { $0["name"] == .string("model.odd_rows.weight") }
        #expect(odd?["dtype"] == .string("F16"))
        #expect(odd?["shape"] == .array([.integer(4), .integer(40)]))
        #expect(tensors.count == 22)
    }

    @Test("a model folder with PyTorch shards is read through its index")
    func shardedPyTorchFolder() throws {
        let result = try CommandRunner.run("eah-convert", ["inspect", Fixtures.path("convert/tiny-llava"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(Array(result.stdout.utf8))
        #expect(document["format"] == .string("pytorch"))
        #expect(document["layout"] == .string("llava-hf"))
        guard case .array(let tensors) = document["tensors"] else { Issue.record("no tensors"); return }
        let patch = tensors.first { $0["name"] == .string("vision_tower.vision_model.embeddings.patch_embedding.weight") }
        #expect(patch?["dtype"] == .string("F32"))
        #expect(patch?["shape"] == .array([.integer(32), .integer(3), .integer(14), .integer(14)]))
        let positions = tensors.first { $0["name"] == .string("vision_tower.vision_model.embeddings.position_ids") }
        #expect(positions?["dtype"] == .string("I64"))
    }

    @Test("the human listing names format and layout")
    func humanListing() throws {
        let result = try CommandRunner.run("eah-convert", ["inspect", Fixtures.path("convert/tiny-llava.safetensors")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("format:   safetensors"))
        #expect(result.stdout.contains("layout:   llava-hf"))
        #expect(result.stdout.contains("language_model.model.embed_tokens.weight"))
    }

    @Test("control characters in names never reach the terminal")
    func escapesNames() throws {
        let directory = TemporaryDirectory()
        let header = #"{"evil\u001b[2J\u0007name":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#
        var bytes = withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian, Array.init)
        bytes += Array(header.utf8) + [7]
        let path = directory.write("evil.safetensors", bytes)
        let result = try CommandRunner.run("eah-convert", ["inspect", path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.utf8.contains(0x1b))
        #expect(!result.stdout.utf8.contains(0x07))
        #expect(result.stdout.contains(#"evil\u{1b}[2J\u{7}name"#))
    }

    @Test("a Git LFS pointer is named as such, exit status 1")
    func lfsPointer() throws {
        let directory = TemporaryDirectory()
        let path = directory.write("model.safetensors", Array("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n".utf8))
        let result = try CommandRunner.run("eah-convert", ["inspect", path])
        #expect(result.status == 1)
        #expect(result.stderr == "eah-convert: \(path): this is a Git LFS pointer file, not the weights; fetch the real file with `git lfs pull` (or `huggingface-cli download`)\n")
    }

    @Test("an HTML page is named as such, exit status 1")
    func htmlPage() throws {
        let directory = TemporaryDirectory()
        let path = directory.write("model.bin", Array("\n<!DOCTYPE html><html><body>404</body></html>".utf8))
        let result = try CommandRunner.run("eah-convert", ["inspect", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("this is an HTML web page, not a checkpoint"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("a missing path is bad input (1); missing arguments are bad usage (2)")
    func exitStatuses() throws {
        let missing = try CommandRunner.run("eah-convert", ["inspect", "/nonexistent/model.safetensors"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "eah-convert: /nonexistent/model.safetensors: no such file or directory; check the path\n")
        let noArgument = try CommandRunner.run("eah-convert", ["inspect"])
        #expect(noArgument.status == 2)
        let unknownFlag = try CommandRunner.run("eah-convert", ["inspect", "x", "--bogus"])
        #expect(unknownFlag.status == 2)
    }

    @Test("an unknown file format is bad input with its first bytes shown")
    func unknownFormat() throws {
        let directory = TemporaryDirectory()
        let path = directory.write("weights.bin", [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9])
        let result = try CommandRunner.run("eah-convert", ["inspect", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("starts with bytes de ad be ef 01 02 03 04"))
    }
}
