import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// From an image file and a text prompt to the answer, against transformers' LlavaProcessor and
/// generate (tools/make_e2e_fixtures.py).
@Suite("eah-run --image --prompt end to end")
struct QuestionRunTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let image: String
        let question: String
        let promptLength: Int
        let generated: [Int]
        let text: String
        var testDescription: String { image }
    }

    static let cases: [Case] = {
        guard let file = try? MappedFile(path: Fixtures.path("e2e/expected.json")),
              let document = withExtendedLifetime(file, { try? JSONParser.parse(file.bytes) }),
              case .array(let entries)? = document["cases"] else { return [] }
        return entries.compactMap { entry in
            guard case .string(let image)? = entry["image"], case .string(let question)? = entry["question"],
                  case .array(let ids)? = entry["input_ids"], case .array(let generated)? = entry["generated"],
                  case .string(let text)? = entry["text"] else { return nil }
            return Case(image: image, question: question, promptLength: ids.count,
                        generated: generated.compactMap { if case .integer(let v) = $0 { v } else { nil } }, text: text)
        }
    }()

    @Test("greedy tokens and text equal transformers'", arguments: cases)
    func answers(_ testCase: Case) throws {
        let model = Fixtures.path("e2e/tiny-llava-hf")
        let result = try CommandRunner.run("eah-run", [model, "--image", Fixtures.path("e2e/" + testCase.image), "--prompt", testCase.question,
                                                      "--max-tokens", "8", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(document["schema"] == .integer(1))
        #expect(document["prompt_tokens"] == .integer(testCase.promptLength))
        #expect(document["tokens"] == .array(testCase.generated.map(JSONValue.integer)))
        #expect(document["text"] == .string(testCase.text))
        let streamed = try CommandRunner.run("eah-run", [model, "--image", Fixtures.path("e2e/" + testCase.image), "--prompt", testCase.question,
                                                        "--max-tokens", "8"])
        #expect(streamed.stdout == testCase.text + "\n")
    }

    @Test("a missing image is bad input naming the file")
    func missingImage() throws {
        let result = try CommandRunner.run("eah-run", [Fixtures.path("e2e/tiny-llava-hf"), "--image", "/nonexistent.jpg", "--prompt", "hi"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("eah-run: /nonexistent.jpg: "))
    }
}
