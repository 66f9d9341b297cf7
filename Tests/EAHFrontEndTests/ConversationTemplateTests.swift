import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Testing

@Suite struct ConversationTemplateTests {
    @Test func vicunaV1IsLLaVAsConversationPrompt() throws {
        let template = try ConversationTemplate.builtIn("vicuna_v1")
        let cases = try TemplateFixtures.cases("vicuna_v1.json")
        #expect(cases.count == 12)
        for item in cases {
            let prompt = try #require(TemplateFixtures.string(item["prompt"]))
            let expected = try #require(TemplateFixtures.string(item["output"]))
            #expect(try template.render(prompt: prompt, systemPrompt: TemplateFixtures.string(item["system"])) == expected)
        }
        #expect(try ConversationTemplate.builtIn("llava_v1").render(prompt: "Hi") == ConversationTemplate.vicunaSystemPrompt + " USER: <image>\nHi ASSISTANT:")
    }

    @Test func vicunaV1RendersWholeConversations() throws {
        let template = try ConversationTemplate.builtIn("vicuna_v1")
        guard case .array(let conversations)? = try TemplateFixtures.json("vicuna_v1.json")["conversations"] else {
            Issue.record("vicuna_v1.json has no conversations")
            return
        }
        #expect(conversations.count == 4)
        for item in conversations {
            let context: [String: TemplateValue] = [
                "messages": TemplateValue(json: try #require(item["messages"])),
                "add_generation_prompt": .bool(item["add_generation_prompt"] == .bool(true)),
            ]
            #expect(try template.render(context: context) == TemplateFixtures.string(item["output"]))
        }
        let tool: [String: TemplateValue] = ["messages": .list([.dictionary([("role", "tool"), ("content", "42")])])]
        let error = try #require(throws: CheckpointError.self) { try template.render(context: tool) }
        #expect(error.problem as? TemplateProblem == .raised("vicuna_v1 has only system, user and assistant roles, not 'tool'"))
    }

    @Test func llavaHFMatchesTransformers() throws {
        let template = try ConversationTemplate.builtIn("llava_hf")
        var checked = 0
        for item in try TemplateFixtures.cases("renders.json") where TemplateFixtures.string(item["template"]) == "llava_15_hf" && item["add_generation_prompt"] == .bool(true) {
            guard case .array(let messages)? = item["messages"], let user = messages.last, case .array(let parts)? = user["content"],
                  parts.count == 2, let prompt = TemplateFixtures.string(parts[1]["text"]) else { continue }
            let system = messages.count == 2 ? (messages[0]["content"].flatMap { content -> String? in
                if case .array(let parts) = content { return TemplateFixtures.string(parts.first?["text"]) }
                return nil
            }) : nil
            guard messages.count == 1 || system != nil else { continue }
            #expect(try template.render(prompt: prompt, systemPrompt: system) == TemplateFixtures.string(item["output"]))
            checked += 1
        }
        #expect(checked == 12)
        #expect(try ConversationTemplate.builtIn("plain").render(prompt: "Describe.") == "<image>\nDescribe.")
    }

    @Test func resolvesSourcesInTransformersOrder() throws {
        let fixture = try TemplateFixtures.json("models.json")
        let prompt = try #require(TemplateFixtures.string(fixture["prompt"]))
        guard case .object(let folders)? = fixture["folders"] else { Issue.record("models.json has no folders"); return }
        for (folder, expected) in folders {
            let directory = Fixtures.path("templates/models/\(folder)")
            let source = try #require(TemplateFixtures.string(expected["source"]))
            if let output = TemplateFixtures.string(expected["output"]) {
                let template = try ConversationTemplate.resolve(modelDirectory: directory)
                #expect(template.name == source, "\(folder)")
                #expect(try template.render(prompt: prompt) == output, "\(folder)")
            } else {
                let error = try #require(throws: CheckpointError.self) { try ConversationTemplate.resolve(modelDirectory: directory) }
                #expect(error.path == directory + "/" + source)
                #expect(error.problem as? TemplateProblem == .syntax("unexpected '}'", line: 1))
            }
        }
        #expect(folders.count == 9)
    }

    @Test func explicitNamesOverrideTheModelsTemplate() throws {
        let withTemplate = Fixtures.path("templates/models/chat_template_jinja")
        let plain = try ConversationTemplate.resolve(modelDirectory: withTemplate, explicitName: "plain")
        #expect(plain.name == "plain")
        #expect(try plain.render(prompt: "p") == "<image>\np")
        let listed = try ConversationTemplate.resolve(modelDirectory: Fixtures.path("templates/models/tokenizer_config_list"), explicitName: "tool_use")
        #expect(try listed.render(prompt: "p").hasPrefix("tool_use:USER: <image>\np"))
        let file = try ConversationTemplate.resolve(modelDirectory: withTemplate, explicitName: Fixtures.path("templates/llava_interleave.jinja"))
        #expect(try file.render(prompt: "p") == "<|im_start|>user\n<image>\np<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test func reportsMissingAndMalformedTemplates() throws {
        let none = Fixtures.path("templates/models/no_template")
        let missing = try #require(throws: CheckpointError.self) { try ConversationTemplate.resolve(modelDirectory: none) }
        #expect(missing.problem as? TemplateProblem == .noTemplate && missing.isUsageError)
        let unknown = try #require(throws: CheckpointError.self) { try ConversationTemplate.resolve(modelDirectory: none, explicitName: "chatml") }
        #expect(unknown.problem as? TemplateProblem == .unknownTemplateName("chatml", known: ["vicuna_v1", "llava_hf", "plain"]))
        let bad = try #require(throws: CheckpointError.self) { try ConversationTemplate.resolve(modelDirectory: Fixtures.path("templates/models/bad_entry")) }
        #expect(bad.problem as? TemplateProblem == .malformedTemplateEntry("is neither a string nor a list of {\"name\", \"template\"} objects"))
        #expect(bad.path.hasSuffix("bad_entry/tokenizer_config.json"))
    }

    @Test func raiseExceptionSurfacesAsAProblemNamingTheFile() throws {
        let directory = TemporaryDirectory()
        directory.write("chat_template.jinja", Array("{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% endfor %}".utf8))
        let template = try ConversationTemplate.resolve(modelDirectory: directory.path)
        #expect(try template.render(prompt: "fine") == "")
        let error = try #require(throws: CheckpointError.self) { try template.render(prompt: "x", systemPrompt: "sys") }
        #expect(error.problem as? TemplateProblem == .raised("System role not supported"))
        #expect(error.path == directory.file("chat_template.jinja"))
        #expect(error.description.contains("raised an exception: System role not supported"))
    }
}
