import EAH
import EAHCheckpoint
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// Bundles are self-contained: a vision tower passed by an absolute path outside the model folder
/// (`--vision-tower /elsewhere/clip`) travels in the bundle and is recorded relative in the
/// manifest, so the bundle runs from anywhere after the tower folder is gone.
@Suite("bundles carry companions from outside the model folder")
struct BundleCompanionTests {
    /// The original release layouts that take `--vision-tower`: model, tower folder, image.
    static let sources: [(name: String, model: String, tower: String, image: String)] = [
        ("llava-next", LlavaNextOriginalTests.model, LlavaNextOriginalTests.tower, LlavaNextTests.imagePath("wide")),
        ("llava-onevision", OnevisionLmmsLayoutTests.model, OnevisionLmmsLayoutTests.tower, OnevisionCommandTests.imagePath("tall")),
    ]

    @Test("patch with an absolute --vision-tower outside the model folder; the bundle runs from another folder with the tower moved away",
          arguments: [0, 1], [[], ["--bake"]])
    func towerOutsideTheModelFolder(_ source: Int, _ extra: [String]) throws {
        let (name, model, tower, image) = Self.sources[source]
        let directory = TemporaryDirectory()
        let elsewhere = directory.file("elsewhere"), bundle = directory.file("bundle"), other = directory.file("other")
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: false)
        try FileManager.default.copyItem(atPath: tower, toPath: elsewhere + "/tower")
        let patch = try CommandRunner.run("eah-convert", ["patch", model, "--vision-tower", elsewhere + "/tower", "-o", bundle, "--head", "1:0"] + extra)
        #expect(patch.status == 0, "\(name): \(patch.stderr)")

        let manifest = try EAHBundle(path: bundle).manifest
        let sources = manifest.model.sourceFiles.map(\.path)
        #expect(sources.contains("vision_tower/config.json") && sources.contains("vision_tower/preprocessor_config.json"), "\(sources)")
        #expect(sources.allSatisfy { !$0.hasPrefix("/") && !$0.contains("..") })
        for file in ["config.json", "preprocessor_config.json"] {
            #expect(FileManager.default.contentsEqual(atPath: bundle + "/vision_tower/" + file, andPath: tower + "/" + file))
        }

        let question = ["--image", image, "--prompt", "What is in the picture?", "--max-tokens", "3", "--json"]
        let before = try CommandRunner.run("eah-run", [bundle] + question, in: other)
        #expect(before.status == 0, "\(name): \(before.stderr)")
        try FileManager.default.moveItem(atPath: elsewhere, toPath: directory.file("moved"))
        let after = try CommandRunner.run("eah-run", [bundle] + question, in: other)
        #expect(after.status == 0, "\(name): \(after.stderr)")
        let answer = { (output: String) in (try? JSONParser.parse(output.trimmingCharacters(in: .newlines)))?["tokens"] }
        #expect(answer(after.stdout) != nil && answer(after.stdout) == answer(before.stdout))
    }

    @Test("LLaVA-1.5's original layout: the CLIP folder's weights and config travel in vision_tower/, recorded there; the bundle loads after the folder moved")
    func llava15TowerWeightsOutside() throws {
        let directory = TemporaryDirectory()
        let tower = LlavaFixtures.path("m1-gqa-bias/clip-vision"), copy = directory.file("clip"), bundle = directory.file("bundle")
        try FileManager.default.copyItem(atPath: tower, toPath: copy)
        let patch = try CommandRunner.run("eah-convert", ["patch", LlavaFixtures.path("m1-gqa-bias/original"), "--vision-tower", copy, "-o", bundle, "--head", "0:0"])
        #expect(patch.status == 0, "\(patch.stderr)")
        try FileManager.default.moveItem(atPath: copy, toPath: directory.file("moved"))
        let opened = try EAHBundle(path: bundle)
        #expect(Set(opened.manifest.model.sourceFiles.map(\.path)) == [
            "config.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin",
            "vision_tower/config.json", "vision_tower/model.safetensors",
        ])
        let model = try ModelFamilies.load(ModelRequest(model: bundle, visionTower: try #require(opened.visionTower)))
        #expect(model.family == "llava-1.5")
        // The tower's tensors, byte for byte.
        let source = try Checkpoint.open(tower + "/model.safetensors"), carried = try Checkpoint.open(bundle + "/vision_tower/model.safetensors")
        #expect(carried.tensors.map(\.name).sorted() == source.tensors.map(\.name).sorted())
        for info in source.tensors {
            let original = try source.bytes(of: info).withUnsafeBytes { Array($0) }
            let kept = try carried.bytes(of: try #require(carried.tensor(named: info.name))).withUnsafeBytes { Array($0) }
            #expect(kept == original, "\(info.name)")
        }
    }
}
