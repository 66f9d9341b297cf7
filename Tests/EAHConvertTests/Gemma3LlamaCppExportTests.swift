import EAHCheckpoint
import EAHCore
import EAHModel
import EAHTestSupport
import Foundation
import Testing

/// `convert --to gguf` and `patch --bake --to gguf` on the transformers Gemma 3 of
/// tools/make_gemma3_gguf_fixtures.py write what llama.cpp's convert_hf_to_gguf.py wrote for the
/// same folder (`text-f32.gguf`, `mmproj-f32.gguf`, committed): every metadata entry (key, type,
/// value, in order) and every tensor (name, shape, type, bytes, in order).
@Suite("Gemma 3 to llama.cpp's layout: same files as llama.cpp's converter")
struct Gemma3LlamaCppExportTests {
    static let folder = Gemma3GGUFTests.base + "hf"

    /// Every difference between our GGUF at `path` and the converter's at `reference`.
    static func differences(_ path: String, _ reference: String) throws -> [String] {
        let ours = try GGUFReader(path: path), theirs = try GGUFReader(path: reference)
        var found: [String] = []
        let ourKeys = ours.metadata.map(\.key), theirKeys = theirs.metadata.map(\.key)
        if ourKeys != theirKeys { found.append("keys: \(ourKeys) vs \(theirKeys)") }
        for entry in theirs.metadata where ours.metadataValue(entry.key) != entry.value {
            let shown = "\(ours.metadataValue(entry.key).map { "\($0)" } ?? "missing")"
            found.append("\(entry.key): \(shown.prefix(200)) vs \("\(entry.value)".prefix(200))")
        }
        if ours.tensors.map(\.name) != theirs.tensors.map(\.name) { found.append("tensor order: \(ours.tensors.map(\.name)) vs \(theirs.tensors.map(\.name))") }
        for tensor in theirs.tensors {
            guard let mine = ours.tensor(named: tensor.name) else { found.append("missing \(tensor.name)"); continue }
            if mine.shape != tensor.shape || mine.dtype != tensor.dtype { found.append("\(tensor.name): \(mine.shape) \(mine.dtype) vs \(tensor.shape) \(tensor.dtype)"); continue }
            let a = try ours.bytes(of: mine).withUnsafeBytes { Array($0) }, b = try theirs.bytes(of: tensor).withUnsafeBytes { Array($0) }
            if a != b { found.append("\(tensor.name): bytes differ") }
        }
        return found
    }

    @Test("convert --to gguf writes NAME.gguf and mmproj-NAME.gguf equal to convert_hf_to_gguf.py's (text and --mmproj, f32)")
    func sameAsLlamaCpp() throws {
        let directory = TemporaryDirectory()
        let output = directory.file("gemma.gguf")
        let result = try CommandRunner.run("eah-convert", ["convert", Self.folder, "--to", "gguf", "--dtype", "f32", "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        let text = try Self.differences(output, Gemma3GGUFTests.text)
        #expect(text.isEmpty, "\(text.joined(separator: "\n"))")
        let mmproj = try Self.differences(directory.file("mmproj-gemma.gguf"), Gemma3GGUFTests.mmproj)
        #expect(mmproj.isEmpty, "\(mmproj.joined(separator: "\n"))")
    }

    @Test("f16 and q8_0: names, types, values and metadata equal the converter's (converter-types.json)", arguments: ["f16", "q8_0"])
    func typesAsLlamaCpp(_ dtype: String) throws {
        let directory = TemporaryDirectory()
        let output = directory.file("gemma.gguf")
        let result = try CommandRunner.run("eah-convert", ["convert", Self.folder, "--to", "gguf", "--dtype", dtype, "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
        try LlamaCppExportTests.compare(output, with: "text-\(dtype)", fixture: "gemma3-gguf/converter-types.json")
        try LlamaCppExportTests.compare(directory.file("mmproj-gemma.gguf"), with: "mmproj-\(dtype)", fixture: "gemma3-gguf/converter-types.json")
    }

    @Test("patch --bake --to gguf bundles model.gguf + mmproj.gguf that run as the GGUF source's baked bundle; unpatch restores the export")
    func bakedBundle() throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle"), fromGGUF = directory.file("from-gguf")
        let heads = ["--head", "0:1", "--head", "1:2"]
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.folder, "--bake", "--to", "gguf", "--dtype", "f32", "-o", bundle] + heads)
        #expect(patch.status == 0, "\(patch.stderr)")
        #expect(FileManager.default.fileExists(atPath: bundle + "/model.gguf") && FileManager.default.fileExists(atPath: bundle + "/mmproj.gguf"))
        let source = try CommandRunner.run("eah-convert", ["patch", Gemma3GGUFTests.text, "--mmproj", Gemma3GGUFTests.mmproj, "--bake", "-o", fromGGUF] + heads)
        #expect(source.status == 0, "\(source.stderr)")
        let ours = try Gemma3GGUFTests.run([bundle], image: 0), theirs = try Gemma3GGUFTests.run([fromGGUF], image: 0)
        #expect(ours.tokens == theirs.tokens)
        #expect(Gemma3Tests.worst(ours.logits, theirs.logits) <= 1e-5)
        let plain = try Gemma3GGUFTests.run([bundle], image: 0, extra: ["--no-eah"])
        #expect(Gemma3Tests.worst(plain.logits, try #require(LlavaFixtures.floats(Gemma3GGUFTests.expected, "logits_0"))) <= 1e-4)
        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", bundle, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        let differences = try Self.differences(restored + "/model.gguf", Gemma3GGUFTests.text)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    @Test("w + 1 is rounded to the checkpoint's BF16/F16 as torch adds in the tensor's type")
    func plusOneRounding() {
        func added(_ value: Float, _ source: DType) -> Float {
            var bytes = withUnsafeBytes(of: value.bitPattern) { Array($0) }
            LlamaCppExport.addOne(&bytes, source: source)
            return bytes.withUnsafeBytes { Float(bitPattern: $0.loadUnaligned(as: UInt32.self)) }
        }
        // 1 + 2^-8 needs 8 fraction bits: BF16 has 7 (a tie, to even: 1), F16 and F32 hold it.
        #expect(added(0.00390625, .bf16) == 1)
        #expect(added(0.01171875, .bf16) == 1.015625)  // 1 + 3·2^-8: the tie goes up to the even 1 + 4·2^-8
        #expect(added(0.00390625, .f16) == 1.00390625)
        #expect(added(0.00390625, .f32) == 1.00390625)
        #expect(added(-0.5, .bf16) == 0.5)
    }

    @Test("what llama.cpp's gemma3 cannot express is refused, naming the part")
    func refusals() throws {
        let directory = TemporaryDirectory()
        // make_gemma3_fixtures.py's model: attention soft-capping set, a global layer every third.
        let result = try CommandRunner.run("eah-convert", ["convert", Gemma3Tests.folder, "--to", "gguf", "-o", directory.file("x.gguf")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("attn_logit_softcapping is set; llama.cpp's gemma3 has no attention soft-capping"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("x.gguf")))
    }
}
