import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

@Suite("eah-convert convert")
struct ConvertCommandTests {
    @Test("PyTorch shards convert to the file safetensors.torch.save_file writes, byte for byte")
    func pytorchShardsToSafetensors() throws {
        let directory = TemporaryDirectory()
        let output = directory.file("out.safetensors")
        let result = try CommandRunner.run("eah-convert", ["convert", Fixtures.path("convert/tiny-llava"), "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("convert/tiny-llava.safetensors")))
        let actual = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(actual == expected)
        #expect(directory.contents == ["out.safetensors"])
    }

    @Test("safetensors to GGUF (--keep-names) matches gguf-py's quantize tensor for tensor", arguments: ["f16", "bf16", "q8_0", "q4_0"])
    func safetensorsToGGUF(dtype: String) throws {
        let directory = TemporaryDirectory()
        let output = directory.file("out.gguf")
        let result = try CommandRunner.run("eah-convert", ["convert", Fixtures.path("convert/tiny-llama.safetensors"), "-o", output, "--dtype", dtype, "--keep-names"])
        #expect(result.status == 0, "\(result.stderr)")
        let expected = try GGUFReader(path: Fixtures.path("convert/tiny-llama-\(dtype).gguf"))
        let actual = try GGUFReader(path: output)
        #expect(Set(actual.tensors.map(\.name)) == Set(expected.tensors.map(\.name)))
        for reference in expected.tensors {
            let mine = try #require(actual.tensor(named: reference.name))
            #expect(mine.dtype == reference.dtype, "\(mine.name)")
            #expect(mine.shape == reference.shape, "\(mine.name)")
            #expect(try actual.bytes(of: mine).array == expected.bytes(of: reference).array, "\(mine.name)")
        }
    }

    @Test("safetensors → GGUF F32 → safetensors gives back the same file")
    func losslessRoundTrip() throws {
        let directory = TemporaryDirectory()
        let source = Fixtures.path("convert/tiny-llama.safetensors")
        let gguf = directory.file("mid.gguf"), back = directory.file("back.safetensors")
        #expect(try CommandRunner.run("eah-convert", ["convert", source, "-o", gguf, "--keep-names"]).status == 0)
        #expect(try CommandRunner.run("eah-convert", ["convert", gguf, "-o", back, "--to", "safetensors"]).status == 0)
        let original = try SafetensorsReader(path: source), roundTripped = try SafetensorsReader(path: back)
        #expect(Set(original.tensors.map(\.name)) == Set(roundTripped.tensors.map(\.name)))
        for tensor in original.tensors {
            let other = try #require(roundTripped.tensor(named: tensor.name))
            #expect(other.shape == tensor.shape)
            #expect(try roundTripped.bytes(of: other).array == original.bytes(of: tensor).array)
        }
    }

    @Test("an existing output is kept without --force (exit 2) and replaced with it")
    func refusesToOverwrite() throws {
        let directory = TemporaryDirectory()
        let output = directory.write("out.safetensors", Array("precious".utf8))
        let source = Fixtures.path("convert/tiny-llama.safetensors")
        let refused = try CommandRunner.run("eah-convert", ["convert", source, "-o", output])
        #expect(refused.status == 2)
        #expect(refused.stderr == "eah-convert: \(output): output already exists; pass --force to overwrite it, or choose another output path\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == Data("precious".utf8))
        #expect(directory.contents == ["out.safetensors"])
        let forced = try CommandRunner.run("eah-convert", ["convert", source, "-o", output, "--force"])
        #expect(forced.status == 0)
        #expect(try SafetensorsReader(path: output).tensors.count == 22)
    }

    @Test("malformed input fails with exit 1 and leaves no output behind")
    func malformedInputWritesNothing() throws {
        let directory = TemporaryDirectory()
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path("convert/tiny-llama.safetensors"))))
        bytes.removeLast(10)
        let source = directory.write("truncated.safetensors", bytes)
        let result = try CommandRunner.run("eah-convert", ["convert", source, "-o", directory.file("out.gguf")])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("eah-convert: \(source): "))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(directory.contents == ["truncated.safetensors"])
    }

    @Test("GGUF quantizations into safetensors are bad usage")
    func quantizedSafetensorsIsUsageError() throws {
        let directory = TemporaryDirectory()
        let result = try CommandRunner.run("eah-convert", ["convert", Fixtures.path("convert/tiny-llama.safetensors"), "-o", directory.file("x.safetensors"), "--dtype", "q4_0"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--dtype q4_0 is a GGUF quantization and cannot be written to safetensors; add --to gguf"))
        #expect(directory.contents.isEmpty)
    }

    @Test("an unknown --dtype is bad usage")
    func unknownDType() throws {
        let result = try CommandRunner.run("eah-convert", ["convert", Fixtures.path("convert/tiny-llama.safetensors"), "-o", "/tmp/never", "--dtype", "q3_k"])
        #expect(result.status == 2)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never"))
    }
}
