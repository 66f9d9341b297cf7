import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// `eah-run --serve` on bundles of the image-run families: a request with an image (Qwen2-VL:
/// read at its own resolution; InternVL: tiled; Gemma 3: the transformers folder of
/// tools/make_gemma3_fixtures.py and llama.cpp's GGUF pair of tools/make_gemma3_gguf_fixtures.py)
/// is answered as eah-run answers the same question, with EAH and without.
@Suite("eah-run --serve on Qwen2-VL, InternVL and Gemma 3", .serialized)
struct ImageFamilyServeTests {
    @Test("an image request is answered as eah-run answers it, with and without EAH",
          arguments: [["qwen2vl/qwen2vl/hf-save"], ["internvl/internvl/hf-save"], ["internvl/internvl/original"],
                      ["gemma3/hf-save"], ["gemma3-gguf/text-f32.gguf", "--mmproj", "gemma3-gguf/mmproj-f32.gguf"]])
    func answersAsEAHRun(_ source: [String]) throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle")
        let model = source.map { $0.hasPrefix("--") ? $0 : Fixtures.path($0) }
        let patch = try CommandRunner.run("eah-convert", ["patch"] + model + ["-o", bundle, "--head", "0:1", "--head", "1:2", "--phase", "all"])
        #expect(patch.status == 0, "\(patch.stderr)")
        let server = try ServerProcess("eah-run", [bundle, "--serve", "--port", "0"])
        let image = Fixtures.path("images/valid/rgb_37x53.png")
        for (extra, flags) in [("", [String]()), (", \"eah\": false", ["--no-eah"])] {
            let response = try Curl.post(try server.baseURL + "/v1/chat/completions", json: try imageRequest(image, extra: extra))
            #expect(response.status == 200, "\(response.body)")
            let answer = try content(response), expected = try runAnswer(bundle, image: image, extra: flags)
            #expect(answer != nil && answer == expected, "eah \(flags.isEmpty)")
        }
    }
}
