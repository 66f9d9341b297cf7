import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// Real Hub chat templates (llama.cpp's `models/templates`, from the llama-cpp-python sdist),
/// llama-cpp-python's own and transformers' own, rendered as transformers renders them (`tools/make_template_corpus_fixtures.py`).
@Suite struct TemplateCorpusTests {
    /// Templates eah renders differently from transformers, and why (the README lists them).
    static let knownDifferences: [String: String] = [:]

    struct Corpus {
        let now: Int
        let special: [String: TemplateValue]
        let conversations: [String: [String: TemplateValue]]
        let cases: [JSONValue]
    }

    static func corpus() throws -> Corpus {
        let fixture = try TemplateFixtures.json("corpus/renders.json")
        // "2026-03-14T15:09:26" as seconds since 1970 (UTC).
        let stamp = try #require(TemplateFixtures.string(fixture["now"]))
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate]
        formatter.timeZone = TimeZone(identifier: "UTC")
        let date = try #require(formatter.date(from: stamp))
        var special: [String: TemplateValue] = [:]
        if case .object(let members)? = fixture["special_tokens"] {
            for (key, value) in members { special[key] = TemplateValue(json: value) }
        }
        var conversations: [String: [String: TemplateValue]] = [:]
        if case .object(let members)? = fixture["conversations"] {
            for (name, conversation) in members {
                var variables: [String: TemplateValue] = ["messages": TemplateValue(json: try #require(conversation["messages"]))]
                if case .object(let kwargs)? = conversation["kwargs"] {
                    for (key, value) in kwargs { variables[key] = TemplateValue(json: value) }
                }
                conversations[name] = variables
            }
        }
        guard case .array(let cases)? = fixture["cases"] else { throw CorpusError.malformed }
        return Corpus(now: Int(date.timeIntervalSince1970), special: special, conversations: conversations, cases: cases)
    }

    enum CorpusError: Error { case malformed }

    /// Renders one case; nil output means it threw (the problem is returned).
    static func render(_ template: ChatTemplate, _ item: JSONValue, corpus: Corpus) throws -> Result<String, TemplateProblem> {
        let conversation = try #require(TemplateFixtures.string(item["conversation"]))
        var context = try #require(corpus.conversations[conversation])
        context.merge(corpus.special) { given, _ in given }
        context["add_generation_prompt"] = .bool(item["add_generation_prompt"] == .bool(true))
        do throws(TemplateProblem) {
            return .success(try template.render(ChatTemplate.transformersContext(context), now: corpus.now))
        } catch {
            return .failure(error)
        }
    }

    @Test func everyHubTemplateRendersAsTransformersDoes() throws {
        let corpus = try Self.corpus()
        #expect(corpus.cases.count >= 1600)
        var compiled: [String: Result<ChatTemplate, TemplateProblem>] = [:]
        var identical = 0
        var differing: [String: Int] = [:]
        for item in corpus.cases {
            let name = try #require(TemplateFixtures.string(item["template"]))
            if compiled[name] == nil {
                let source = try TemplateFixtures.text("corpus/\(name)")
                do throws(TemplateProblem) {
                    compiled[name] = .success(try ChatTemplate(source: source))
                } catch {
                    compiled[name] = .failure(error)
                }
            }
            let known = Self.knownDifferences[name] != nil
            let template: ChatTemplate
            switch compiled[name]! {
            case .success(let t): template = t
            case .failure(let problem):
                if known { differing[name, default: 0] += 1; continue }
                Issue.record("\(name) does not compile: \(problem.message)")
                continue
            }
            let result = try Self.render(template, item, corpus: corpus)
            let label = "\(name) × \(TemplateFixtures.string(item["conversation"]) ?? "?") (generation prompt: \(item["add_generation_prompt"] == .bool(true)))"
            var same = false
            var detail = ""
            if let expected = TemplateFixtures.string(item["output"]) {
                switch result {
                case .success(let rendered):
                    same = Array(rendered.utf8) == Array(expected.utf8)
                    detail = "rendered:\n\(rendered)\nexpected:\n\(expected)"
                case .failure(let problem): detail = "threw \(problem.message), expected:\n\(expected)"
                }
            } else {
                let type = TemplateFixtures.string(item["error"]?["type"]) ?? ""
                let message = TemplateFixtures.string(item["error"]?["message"]) ?? ""
                switch result {
                case .success(let rendered): detail = "rendered \(rendered), expected \(type): \(message)"
                case .failure(let problem):
                    // raise_exception's TemplateError carries the template's own message; other
                    // Python exceptions only need to be errors here too.
                    same = type == "TemplateError" ? problem == .raised(message) : true
                    detail = "threw \(problem.message), expected \(type): \(message)"
                }
            }
            if same {
                identical += 1
            } else if known {
                differing[name, default: 0] += 1
            } else {
                Issue.record("\(label): \(detail)")
            }
        }
        for name in Self.knownDifferences.keys.sorted() {
            #expect(differing[name, default: 0] > 0, "\(name) is listed as rendering differently but renders identically: drop it from the list")
        }
        print("template corpus: \(identical) of \(corpus.cases.count) renders identical")
    }

    @Test func corpusRecordsWhereEveryTemplateCameFrom() throws {
        let sources = try TemplateFixtures.json("corpus/SOURCES.json")
        #expect(sources["package"] == .string("llama-cpp-python==0.3.36"))
        guard case .object(let files)? = sources["files"] else { Issue.record("SOURCES.json lists no files"); return }
        #expect(files.count >= 80)
        let listed = try FileManager.default.contentsOfDirectory(atPath: Fixtures.path("templates/corpus")).filter { $0.hasSuffix(".jinja") }
        #expect(Set(listed) == Set(files.map(\.0)))
        for (name, entry) in files {
            guard case .string(let origin)? = entry["from"], case .string(let digest)? = entry["sha256"] else {
                Issue.record("\(name) has no origin and digest in SOURCES.json")
                continue
            }
            #expect(["vendor/llama.cpp/models/templates/", "llama_cpp/llama_chat_format.py: ", "transformers==5.24.0: "].contains { origin.hasPrefix($0) }, "\(name)")
            #expect(digest.count == 64)
        }
    }
}
