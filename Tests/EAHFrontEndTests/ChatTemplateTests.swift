import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// Fixture access for the template tests (`tools/make_template_fixtures.py`).
enum TemplateFixtures {
    static func json(_ name: String) throws -> JSONValue {
        let text = try String(contentsOfFile: Fixtures.path("templates/\(name)"), encoding: .utf8)
        return try JSONParser.parse(text)
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: Fixtures.path("templates/\(name)"), encoding: .utf8)
    }

    static func cases(_ name: String) throws -> [JSONValue] {
        guard case .array(let cases)? = try json(name)["cases"] else { return [] }
        return cases
    }

    static func string(_ value: JSONValue?) -> String? {
        if case .string(let s)? = value { return s }
        return nil
    }
}

@Suite struct ChatTemplateTests {
    static let special: [String: TemplateValue] = ["bos_token": .string("<s>"), "eos_token": .string("</s>"), "unk_token": .string("<unk>")]

    static func render(_ source: String, _ variables: [String: TemplateValue] = [:]) throws(TemplateProblem) -> String {
        try ChatTemplate(source: source).render(variables)
    }

    @Test func rendersTheRealTemplatesLikeJinja2() throws {
        let cases = try TemplateFixtures.cases("renders.json")
        #expect(cases.count > 100)
        var compiled: [String: ChatTemplate] = [:]
        for item in cases {
            let name = try #require(TemplateFixtures.string(item["template"]))
            if compiled[name] == nil { compiled[name] = try ChatTemplate(source: try TemplateFixtures.text("\(name).jinja")) }
            let template = try #require(compiled[name])
            var variables = Self.special
            variables["messages"] = TemplateValue(json: try #require(item["messages"]))
            variables["add_generation_prompt"] = .bool(item["add_generation_prompt"] == .bool(true))
            variables["tools"] = TemplateValue.none
            variables["documents"] = TemplateValue.none
            if let expected = TemplateFixtures.string(item["output"]) {
                let rendered = try template.render(variables)
                #expect(Array(rendered.utf8) == Array(expected.utf8), "\(name): \(item["messages"]?.serialized ?? "")")
            } else {
                let message = try #require(TemplateFixtures.string(item["error"]))
                #expect(throws: TemplateProblem.raised(message)) { try template.render(variables) }
            }
        }
    }

    @Test func rendersEngineCornersLikeJinja2() throws {
        let fixture = try TemplateFixtures.json("edge_cases.json")
        var variables = [String: TemplateValue]()
        if case .object(let members)? = fixture["variables"] {
            for (key, value) in members { variables[key] = TemplateValue(json: value) }
        }
        for item in try TemplateFixtures.cases("edge_cases.json") {
            let source = try #require(TemplateFixtures.string(item["template"]))
            let expected = try #require(TemplateFixtures.string(item["output"]))
            let rendered = try Self.render(source, variables)
            #expect(rendered == expected, "template: \(source)")
        }
    }

    @Test func reportsSyntaxErrorsWithTheirLine() {
        #expect(throws: TemplateProblem.syntax("unexpected end of template: the 'for' block opened on line 2 needs 'else' or 'endfor'", line: 2)) {
            try Self.render("x\n{% for m in messages %}{{ m }}")
        }
        #expect(throws: TemplateProblem.syntax("unexpected '}'", line: 1)) {
            try Self.render("{{ message['role'] }")
        }
        #expect(throws: TemplateProblem.syntax("unexpected 'endif' with no open block", line: 3)) {
            try Self.render("a\nb\n{% endif %}")
        }
        #expect(throws: TemplateProblem.syntax("unexpected end of template: the tag opened here has no '%}'", line: 2)) {
            try Self.render("\n{% if x ")
        }
        #expect(throws: TemplateProblem.syntax("unknown tag 'frobnicate'", line: 1)) { try Self.render("{% frobnicate %}") }
        #expect(throws: TemplateProblem.syntax("missing end of comment tag (the comment opened here has no '#}')", line: 1)) {
            try Self.render("{# open")
        }
        #expect(throws: TemplateProblem.syntax("unterminated string literal", line: 1)) { try Self.render("{{ 'abc }}") }
        #expect(throws: TemplateProblem.syntax("missing end of raw directive (the raw block opened here has no '{% endraw %}')", line: 2)) {
            try Self.render("\n{% raw %}{{ x }}\n{% endraw")
        }
        #expect(throws: TemplateProblem.syntax("unexpected ')'", line: 1)) { try Self.render("{{ (1 + 2)) }}") }
        #expect(throws: TemplateProblem.syntax("expected an expression", line: 1)) { try Self.render("{{ }}") }
        #expect(throws: TemplateProblem.syntax("unexpected 'endfor' after 'endif'", line: 1)) {
            try Self.render("{% if x %}{% endif endfor %}")
        }
    }

    @Test func refusesUnsupportedConstructsByName() {
        #expect(throws: TemplateProblem.unsupported("tag 'import'", line: 1)) { try Self.render("{% import 'macros.jinja' as m %}") }
        #expect(throws: TemplateProblem.unsupported("tag 'include'", line: 2)) { try Self.render("\n{% include 'x.jinja' %}") }
        #expect(throws: TemplateProblem.unsupported("filter 'wordwrap'", line: 1)) { try Self.render("{{ 'a' | wordwrap }}") }
        #expect(throws: TemplateProblem.unsupported("test 'sameasnot'", line: 1)) { try Self.render("{{ 1 is sameasnot 2 }}") }
        #expect(throws: TemplateProblem.unsupported("str.format() field '{:>5}' (only {}, {N} and {name} are supported)", line: 1)) {
            try Self.render("{{ '{:>5}'.format(1) }}")
        }
        #expect(throws: TemplateProblem.unsupported("method 'encode' of a string", line: 1)) { try Self.render("{{ 'a'.encode() }}") }
        #expect(throws: TemplateProblem.refused("a namespace attribute named '_x' (names starting with '_')", line: 1)) {
            try Self.render("{% set ns = namespace(_x=1) %}")
        }
        #expect(throws: TemplateProblem.refused("a namespace attribute named '__class__' (names starting with '_')", line: 2)) {
            try Self.render("{% set ns = namespace() %}\n{% set ns.__class__ = 1 %}")
        }
        #expect(throws: TemplateProblem.unsupported("list.append() (the sandbox makes lists immutable; build a new list with '+')", line: 1)) {
            try Self.render("{% set l = [] %}{{ l.append(1) }}")
        }
    }

    @Test func raiseExceptionAndRuntimeErrorsAreTyped() throws {
        #expect(throws: TemplateProblem.raised("Only user and assistant roles are supported!")) {
            try Self.render("{{ raise_exception('Only user and assistant roles are supported!') }}")
        }
        #expect(throws: TemplateProblem.undefined("'nothing'", line: 1)) { try Self.render("{{ nothing.attribute }}") }
        #expect(throws: TemplateProblem.undefined("'nothing'", line: 1)) { try Self.render("{{ nothing + 'x' }}") }
        #expect(throws: TemplateProblem.typeMismatch("unsupported operand types for +: 'string' and 'integer'", line: 1)) {
            try Self.render("{{ 'a' + 1 }}")
        }
        #expect(throws: TemplateProblem.typeMismatch("integer division or modulo by zero", line: 2)) { try Self.render("\n{{ 1 // 0 }}") }
        #expect(throws: TemplateProblem.typeMismatch("'integer' object is not iterable", line: 1)) { try Self.render("{% for x in 3 %}{% endfor %}") }
        // As jinja2, a macro takes extra arguments and a call block only when its body reads
        // varargs, kwargs or caller.
        #expect(throws: TemplateProblem.typeMismatch("macro 'f' takes not more than 1 argument(s)", line: 1)) {
            try Self.render("{% macro f(a) %}{{ a }}{% endmacro %}{{ f(1, 2) }}")
        }
        #expect(throws: TemplateProblem.typeMismatch("macro 'f' takes no keyword argument 'z'", line: 1)) {
            try Self.render("{% macro f(a) %}{{ a }}{% endmacro %}{{ f(1, z=2) }}")
        }
        #expect(throws: TemplateProblem.typeMismatch("macro 'f' takes no keyword argument 'caller'", line: 2)) {
            try Self.render("{% macro f(a) %}{{ a }}{% endmacro %}\n{% call f(1) %}x{% endcall %}")
        }
        #expect(try Self.render("{% macro f() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ f(1, k=2) }}") == "(1,){'k': 2}")
    }

    @Test func hostileTemplatesHitLimitsInsteadOfHanging() throws {
        let deep = String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500)
        #expect(throws: TemplateProblem.limitExceeded("expression nesting depth (64)")) { try Self.render("{{ \(deep) }}") }
        let nested = String(repeating: "{% if true %}", count: 200) + String(repeating: "{% endif %}", count: 200)
        #expect(throws: TemplateProblem.limitExceeded("block nesting depth (64)")) { try Self.render(nested) }
        #expect(throws: TemplateProblem.limitExceeded("list length (1048576 items)")) { try Self.render("{{ range(100000000) }}") }
        let chain = Array(repeating: "1", count: 10_000).joined(separator: " + ")
        #expect(throws: TemplateProblem.limitExceeded("operators in one expression (256)")) { try Self.render("{{ \(chain) }}") }
        // Just inside the limits renders without exhausting the stack.
        let longest = Array(repeating: "1", count: 200).joined(separator: " + ")
        let deepest = String(repeating: "{% if true %}", count: 60) + "{{ \(String(repeating: "(", count: 20))\(longest)\(String(repeating: ")", count: 20)) }}" + String(repeating: "{% endif %}", count: 60)
        #expect(try Self.render(deepest) == "200")
        #expect(throws: TemplateProblem.limitExceeded("macro call depth (48)")) {
            try Self.render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")
        }
        #expect(try Self.render("{% macro f(n) %}{{ f(n - 1) if n > 0 else 'bottom' }}{% endmacro %}{{ f(47) }}") == "bottom")
        var limits = ChatTemplate.Limits()
        limits.maxSteps = 100_000
        #expect(throws: TemplateProblem.limitExceeded("evaluation steps (100000)")) {
            try ChatTemplate(source: "{% for i in range(1000) %}{% for j in range(1000) %}{{ j }}{% endfor %}{% endfor %}").render([:], limits: limits)
        }
        #expect(throws: TemplateProblem.limitExceeded("string length (8388608 bytes)")) {
            try Self.render("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}")
        }
        #expect(throws: TemplateProblem.limitExceeded("string length (8388608 bytes)")) { try Self.render("{{ 'x' * 100000000000 }}") }
    }

    /// Issue 14, Deliver 2 (total allocation per file): strings that each fit the limits but are
    /// kept in a list add up; a 160-byte template would hold 320 MB (40 × 8 MB) at the end.
    @Test func allocationAcrossTheRenderIsBudgeted() throws {
        let keeper = "{% set ns = namespace(items=[]) %}{% for i in range(COUNT) %}{% set ns.items = ns.items + ['x' * SIZE ~ i] %}{% endfor %}{{ ns.items | length }}"
        func source(_ count: Int, _ size: Int) -> String {
            keeper.replacingOccurrences(of: "COUNT", with: "\(count)").replacingOccurrences(of: "SIZE", with: "\(size)")
        }
        #expect(throws: TemplateProblem.limitExceeded("memory allocated while rendering (268435456 bytes)")) { try Self.render(source(40, 8_000_000)) }
        var limits = ChatTemplate.Limits()
        limits.maxAllocatedBytes = 1 << 20
        #expect(throws: TemplateProblem.limitExceeded("memory allocated while rendering (1048576 bytes)")) {
            try ChatTemplate(source: source(20, 100_000)).render([:], limits: limits)
        }
        // Within the budget it renders.
        #expect(try ChatTemplate(source: source(4, 100_000)).render([:], limits: limits) == "4")
    }

    @Test func malformedTemplatesNeverCrash() {
        // Every prefix of the real templates either compiles or throws a TemplateProblem.
        let sources = ["llava_15_hf.jinja", "llava_interleave.jinja", "strict_roles.jinja"].compactMap { try? TemplateFixtures.text($0) }
        #expect(sources.count == 3)
        for source in sources {
            let scalars = Array(source.unicodeScalars)
            for end in stride(from: 0, through: scalars.count, by: 7) {
                var prefix = String.UnicodeScalarView()
                prefix.append(contentsOf: scalars[0..<end])
                _ = try? ChatTemplate(source: String(prefix)).render(["messages": .list([.integer(1), .string("x"), .none])])
            }
        }
        // The same for Hub templates with macros, call blocks and namespaces, more coarsely.
        for name in ["openai-gpt-oss-120b.jinja", "google-gemma-4-31B-it.jinja", "meetkai-functionary-medium-v3.2.jinja"] {
            let scalars = Array(((try? TemplateFixtures.text("corpus/" + name)) ?? "").unicodeScalars)
            #expect(scalars.count > 1000, "\(name)")
            for end in stride(from: 0, through: scalars.count, by: 151) {
                var prefix = String.UnicodeScalarView()
                prefix.append(contentsOf: scalars[0..<end])
                _ = try? ChatTemplate(source: String(prefix)).render(["messages": .list([.dictionary([("role", "user"), ("content", "hi")])]), "tools": .list([.integer(1)])])
            }
        }
    }

    @Test func newBlockTagsReportTheirSyntaxErrors() {
        #expect(throws: TemplateProblem.syntax("non-default argument follows default argument", line: 1)) {
            try Self.render("{% macro f(a=1, b) %}{% endmacro %}")
        }
        #expect(throws: TemplateProblem.syntax("duplicate parameter 'a'", line: 1)) { try Self.render("{% macro f(a, a) %}{% endmacro %}") }
        #expect(throws: TemplateProblem.syntax("unexpected end of template: the 'macro' block opened on line 2 needs 'endmacro'", line: 2)) {
            try Self.render("\n{% macro f() %}body")
        }
        #expect(throws: TemplateProblem.syntax("expected a macro call after 'call'", line: 1)) { try Self.render("{% call x %}{% endcall %}") }
        #expect(throws: TemplateProblem.syntax("expected '=' before the end of the tag", line: 1)) { try Self.render("{% with a %}{% endwith %}") }
        #expect(throws: TemplateProblem.unsupported("filter 'nope'", line: 1)) { try Self.render("{% filter nope %}x{% endfilter %}") }
    }
}
