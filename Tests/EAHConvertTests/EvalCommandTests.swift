import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// `eah-convert eval` on the tiny random-weight LLaVA: the figures are whatever it yields, so the
/// tests check the output's structure, ranges and counts, and how bad inputs are reported.
@Suite("eah-convert eval end to end")
struct EvalCommandTests {
    static let model = Fixtures.path("e2e/tiny-llava-hf")
    static let images = Fixtures.path("e2e")

    /// Three e2e images: person and dog; cat; car, traffic light and person. Per POPE sampling,
    /// image 1 asks 2 yes + 2 no, image 2 1 + 1, image 3 3 + 3 (three absent categories remain) → 12.
    static let annotations = """
        {"info": {"description": "eval test"},
         "images": [{"id": 1, "file_name": "rgb_37x53_420.jpg", "width": 37, "height": 53},
                    {"id": 2, "file_name": "exif6_45x31.jpg"}, {"id": 3, "file_name": "rgba_301x97.png"}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}, {"id": 2, "image_id": 1, "category_id": 2},
                         {"id": 3, "image_id": 2, "category_id": 3},
                         {"id": 4, "image_id": 3, "category_id": 4}, {"id": 5, "image_id": 3, "category_id": 5},
                         {"id": 6, "image_id": 3, "category_id": 1}],
         "categories": [{"id": 1, "name": "person", "supercategory": "person"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "cat"},
                        {"id": 4, "name": "car"}, {"id": 5, "name": "traffic light"}, {"id": 6, "name": "hot dog"}]}
        """

    static func write(_ folder: TemporaryDirectory, _ text: String = annotations) -> String {
        folder.write("instances.json", Array(text.utf8))
    }

    static func ratio(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let number)?: (0...1).contains(number) ? number : nil
        case .integer(let number)?: (0...1).contains(number) ? Double(number) : nil
        default: nil
        }
    }

    @Test("chair: JSON figures in range, captions JSONL, with and without EAH")
    func chair() throws {
        let folder = TemporaryDirectory()
        let data = Self.write(folder)
        for (flags, eah) in [(["--eah-layer", "1"], true), (["--no-eah"], false)] {
            let captions = folder.file("captions-\(eah).jsonl")
            let result = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", data, "--images", Self.images, "--metric", "chair",
                                                              "--max-tokens", "12", "--json", "--captions-out", captions] + flags)
            #expect(result.status == 0, "\(result.stderr)")
            let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(document["schema"] == .integer(1))
            #expect(document["metric"] == .string("chair"))
            #expect(document["samples"] == .integer(3))
            #expect(document["eah"] == .bool(eah))
            for key in ["chair_s", "chair_i", "recall"] { #expect(Self.ratio(document[key]) != nil, "\(key)") }
            #expect(document["ground_truth_objects"] == .integer(6))
            switch document["average_length"] {
            case .number(let words)?: #expect(words >= 0)
            case .integer(let words)?: #expect(words >= 0)
            default: Issue.record("average_length is not a number")
            }
            let lines = try String(contentsOfFile: captions, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 3)
            let first = try JSONParser.parse(String(lines[0]))
            #expect(first["image_id"] == .integer(1))
            #expect(first["file_name"] == .string("rgb_37x53_420.jpg"))
            #expect(first["ground_truth"] == .array([.string("dog"), .string("person")]))
            if case .string? = first["caption"] {} else { Issue.record("caption is not a string") }
        }
    }

    @Test("chair: a human summary by default, --limit")
    func chairSummary() throws {
        let folder = TemporaryDirectory()
        let result = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", Self.write(folder), "--images", Self.images,
                                                          "--metric", "chair", "--max-tokens", "4", "--limit", "1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("CHAIR on 1 images (EAH off, up to 4 tokens)"))
        #expect(result.stdout.contains("CHAIR_S") && result.stdout.contains("CHAIR_I"))
    }

    @Test("pope: per-sampling figures, question counts, --no-eah")
    func pope() throws {
        let folder = TemporaryDirectory()
        let data = Self.write(folder)
        for flags in [["--eah-layer", "0"], ["--no-eah"]] {
            let result = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", data, "--images", Self.images, "--metric", "pope",
                                                              "--json", "--seed", "3"] + flags)
            #expect(result.status == 0, "\(result.stderr)")
            let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(document["schema"] == .integer(1))
            #expect(document["metric"] == .string("pope"))
            #expect(document["samples"] == .integer(3))
            #expect(document["eah"] == .bool(flags[0] != "--no-eah"))
            for sampling in ["random", "popular", "adversarial"] {
                let figures = try #require(document[sampling], "\(sampling)")
                #expect(figures["questions"] == .integer(12))
                for key in ["accuracy", "precision", "recall", "f1", "yes_ratio"] { #expect(Self.ratio(figures[key]) != nil, "\(sampling).\(key)") }
            }
        }
        let one = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", data, "--images", Self.images, "--metric", "pope",
                                                       "--pope-sampling", "adversarial", "--limit", "2", "--json"])
        #expect(one.status == 0, "\(one.stderr)")
        let document = try JSONParser.parse(one.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(document["random"] == nil)
        #expect(document["adversarial"]?["questions"] == .integer(6))
        #expect(document["samples"] == .integer(2))
    }

    @Test("bad inputs: a missing image, an unknown category id, malformed JSON, a bad option")
    func badInputs() throws {
        let folder = TemporaryDirectory()
        // Without --images the images are looked up beside the annotation file, where they are not.
        let missing = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", Self.write(folder), "--metric", "chair"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("eah-convert: \(folder.file("rgb_37x53_420.jpg")): image 'rgb_37x53_420.jpg' is missing"), "\(missing.stderr)")

        let unknown = Self.annotations.replacingOccurrences(of: #""image_id": 2, "category_id": 3"#, with: #""image_id": 2, "category_id": 99"#)
        let bad = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", Self.write(folder, unknown), "--images", Self.images,
                                                       "--metric", "pope"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("annotations[2] names category id 99, which 'categories' does not list"), "\(bad.stderr)")

        let malformed = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", Self.write(folder, "{\"images\": [1,"),
                                                             "--images", Self.images, "--metric", "chair"])
        #expect(malformed.status == 1)
        #expect(malformed.stderr.contains("is not valid JSON"), "\(malformed.stderr)")
        #expect(malformed.stderr.split(separator: "\n").count == 1)

        let usage = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", Self.write(folder), "--metric", "pope", "--prompt", "hi"])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("for pope, --prompt is the question template and must contain {object}"))
    }
}
