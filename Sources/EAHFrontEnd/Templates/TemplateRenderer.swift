import EAHCheckpoint
import EAHCore

/// Evaluates a parsed template: Jinja2's semantics under transformers' sandboxed environment,
/// within `ChatTemplate.Limits`.
struct TemplateRenderer {
    /// The filters the engine implements (others are refused when the template is compiled).
    static let filters: Set<String> = [
        "upper", "lower", "trim", "capitalize", "length", "count", "selectattr", "rejectattr", "select", "reject",
        "map", "join", "default", "d", "tojson", "first", "last", "list", "string", "int", "float", "abs", "replace",
        "reverse", "items", "safe", "dictsort", "sort", "unique", "min", "max", "sum", "indent", "title", "round",
        "escape", "e", "forceescape",
    ]

    /// The tests the engine implements.
    static let tests: Set<String> = [
        "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false", "mapping",
        "iterable", "sequence", "callable", "equalto", "eq", "ne", "lt", "le", "gt", "ge", "sameas", "in", "odd", "even",
        "divisibleby", "lower", "upper",
    ]

    /// Global names; `self` (jinja2's reference to the template's blocks, of which chat
    /// templates have none) has only undefined attributes.
    private static let globals: Set<String> = ["raise_exception", "strftime_now", "range", "namespace", "dict", "self"]

    enum Flow { case normal, breakLoop, continueLoop }

    private let limits: ChatTemplate.Limits
    private var output = ""
    private var outputBytes = 0
    private var scopes: [[String: TemplateValue]]
    private var namespaces: [[(String, TemplateValue)]] = []
    private var macros: [Macro] = []
    /// The last values `loop.changed` saw, by the index of the loop's scope.
    private var loopChanged: [Int: TemplateValue] = [:]
    /// How many items of each generator (by id) have been taken.
    private var generatorsTaken: [Int] = []
    private var callDepth = 0
    private var steps = 0
    /// What the strings and lists built so far hold (`Limits.maxAllocatedBytes`); a box, so the
    /// non-mutating helpers that build values can charge it.
    private let allocation: AllocationBox
    private var line = 1

    /// A defined macro: its parameters, body, and the loop and macro variables visible where it
    /// was defined (the template's top level is looked up when it runs).
    private struct Macro {
        let name: String
        let parameters: [TemplateParameter]
        let body: [TemplateNode]
        let closure: [String: TemplateValue]
        /// Which of `varargs`, `kwargs` and `caller` the body reads: only those accept extra
        /// positional arguments, extra keyword arguments and a call block.
        let readsVarargs: Bool
        let readsKwargs: Bool
        let readsCaller: Bool
    }

    /// Deepest chain of macro calls (recursive macros render nested JSON schemas).
    static let maxCallDepth = 48

    /// The instant `strftime_now` formats (seconds since 1970, as UTC); nil: the local time.
    private let now: Int?

    init(variables: [String: TemplateValue], limits: ChatTemplate.Limits, now: Int?) {
        self.limits = limits
        self.now = now
        allocation = AllocationBox(AllocationBudget(limit: limits.maxAllocatedBytes))
        scopes = [variables]
    }

    static func render(_ nodes: [TemplateNode], variables: [String: TemplateValue], limits: ChatTemplate.Limits, now: Int?) throws(TemplateProblem) -> String {
        var renderer = TemplateRenderer(variables: variables, limits: limits, now: now)
        _ = try renderer.render(nodes)
        return renderer.output
    }

    // MARK: Statements

    private mutating func step(_ count: Int = 1) throws(TemplateProblem) {
        steps += count
        if steps > limits.maxSteps { throw .limitExceeded("evaluation steps (\(limits.maxSteps))") }
    }

    private mutating func emit(_ text: String) throws(TemplateProblem) {
        outputBytes += text.utf8.count
        if outputBytes > limits.maxOutputBytes { throw .limitExceeded("output size (\(limits.maxOutputBytes) bytes)") }
        output += text
    }

    private mutating func render(_ nodes: [TemplateNode]) throws(TemplateProblem) -> Flow {
        for node in nodes {
            try step()
            switch node {
            case .text(let text): try emit(text)
            case .output(let expression, let at):
                line = at
                try emit(try evaluate(expression).pythonString)
            case .conditional(let branches, let otherwise, let at):
                line = at
                var chosen = otherwise
                for (condition, body) in branches where try evaluate(condition).isTruthy {
                    chosen = body
                    break
                }
                let flow = try render(chosen)
                if flow != .normal { return flow }
            case .loop(let targets, let iterable, let filter, let body, let otherwise, let at):
                line = at
                try renderLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise)
            case .assign(let targets, let attribute, let expression, let at):
                line = at
                let value = try evaluate(expression)
                try assign(targets: targets, attribute: attribute, value: value)
            case .assignBlock(let name, let body, let at):
                line = at
                scopes[scopes.count - 1][name] = .string(try capture(body))
            case .generation(let body):
                let flow = try render(body)
                if flow != .normal { return flow }
            case .macro(let name, let parameters, let body, let at):
                line = at
                scopes[scopes.count - 1][name] = define(name, parameters, body)
            case .callBlock(let expression, let parameters, let body, let at):
                line = at
                guard case .call(let callee, let arguments, let keywords) = expression else { break }
                let caller = define("caller", parameters, body)
                try emit(try call(callee, arguments, keywords, extra: [("caller", caller)]).pythonString)
            case .filterBlock(let name, let arguments, let keywords, let body, let at):
                line = at
                let text = try capture(body)
                line = at
                let (positional, named) = try evaluateArguments(arguments, keywords)
                try emit(try applyFilter(name, .string(text), positional, named).pythonString)
            case .scoped(let assignments, let body, let at):
                line = at
                var values: [String: TemplateValue] = [:]
                for (name, expression) in assignments { values[name] = try evaluate(expression) }
                scopes.append(values)
                defer { scopes.removeLast() }
                let flow = try render(body)
                if flow != .normal { return flow }
            case .breakLoop: return .breakLoop
            case .continueLoop: return .continueLoop
            }
        }
        return .normal
    }

    /// The output of `nodes`, kept apart from the template's output.
    private mutating func capture(_ nodes: [TemplateNode]) throws(TemplateProblem) -> String {
        let saved = output
        output = ""
        defer { output = saved }
        _ = try render(nodes)
        return output
    }

    private mutating func define(_ name: String, _ parameters: [TemplateParameter], _ body: [TemplateNode]) -> TemplateValue {
        var closure: [String: TemplateValue] = [:]
        for scope in scopes.dropFirst() { closure.merge(scope) { $1 } }
        macros.append(Macro(name: name, parameters: parameters, body: body, closure: closure,
                            readsVarargs: TemplateNode.read("varargs", in: body), readsKwargs: TemplateNode.read("kwargs", in: body),
                            readsCaller: TemplateNode.read("caller", in: body)))
        return .macro(macros.count - 1)
    }

    /// Calls a macro as Jinja2 does: positional then keyword arguments, defaults for the rest
    /// (evaluated in the macro's scope), extra ones in `varargs` and `kwargs`, and `caller`.
    /// The result is the body's output.
    private mutating func invoke(_ id: Int, _ positional: [TemplateValue], _ named: [(String, TemplateValue)]) throws(TemplateProblem) -> TemplateValue {
        let macro = macros[id]
        let callLine = line
        var locals: [String: TemplateValue] = [:]
        var varargs: [TemplateValue] = []
        for (index, value) in positional.enumerated() {
            if index < macro.parameters.count { locals[macro.parameters[index].name] = value } else { varargs.append(value) }
        }
        if !varargs.isEmpty, !macro.readsVarargs {
            throw .typeMismatch("macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)", line: line)
        }
        var kwargs: [(String, TemplateValue)] = []
        for (key, value) in named {
            if key == "caller", macro.readsCaller {
                locals[key] = value
            } else if macro.parameters.contains(where: { $0.name == key }) {
                guard locals[key] == nil else { throw .typeMismatch("macro '\(macro.name)' got multiple values for argument '\(key)'", line: line) }
                locals[key] = value
            } else {
                guard macro.readsKwargs else { throw .typeMismatch("macro '\(macro.name)' takes no keyword argument '\(key)'", line: line) }
                kwargs.append((key, value))
            }
        }
        locals["varargs"] = .tuple(varargs)
        locals["kwargs"] = .dictionary(kwargs.map { (.string($0.0), $0.1) })
        guard callDepth < Self.maxCallDepth else { throw .limitExceeded("macro call depth (\(Self.maxCallDepth))") }
        callDepth += 1
        let savedScopes = scopes
        scopes = [scopes[0], macro.closure, locals]
        defer {
            scopes = savedScopes
            callDepth -= 1
            line = callLine
        }
        for parameter in macro.parameters where scopes[2][parameter.name] == nil {
            scopes[2][parameter.name] = try parameter.defaultValue.map { e throws(TemplateProblem) in try evaluate(e) } ?? .undefined(parameter.name)
        }
        return .string(try capture(macro.body))
    }

    /// transformers' namespaces refuse underscore-prefixed attributes (a sandbox escape route).
    private func checkNamespaceName(_ name: String) throws(TemplateProblem) {
        if name.hasPrefix("_") { throw .refused("a namespace attribute named '\(name)' (names starting with '_')", line: line) }
    }

    private mutating func assign(targets: [String], attribute: String?, value: TemplateValue) throws(TemplateProblem) {
        if let attribute {
            guard case .namespace(let id) = lookup(targets[0]) else {
                throw .typeMismatch("cannot assign attribute '\(attribute)' on \(targets[0]), which is not a namespace()", line: line)
            }
            try checkNamespaceName(attribute)
            if let index = namespaces[id].firstIndex(where: { $0.0 == attribute }) {
                namespaces[id][index].1 = value
            } else {
                namespaces[id].append((attribute, value))
            }
            return
        }
        if targets.count == 1 {
            scopes[scopes.count - 1][targets[0]] = value
            return
        }
        let items = try unpack(value, count: targets.count)
        for (name, item) in zip(targets, items) { scopes[scopes.count - 1][name] = item }
    }

    private func unpack(_ value: TemplateValue, count: Int) throws(TemplateProblem) -> [TemplateValue] {
        guard let items = value.sequence, items.count == count else {
            throw .typeMismatch("cannot unpack \(value.typeName) into \(count) names", line: line)
        }
        return items
    }

    private mutating func renderLoop(targets: [String], iterable: TemplateExpression, filter: TemplateExpression?, body: [TemplateNode], otherwise: [TemplateNode]) throws(TemplateProblem) {
        var items = try iterate(try evaluate(iterable))
        scopes.append([:])
        defer { scopes.removeLast() }
        if let filter {
            var kept: [TemplateValue] = []
            for item in items {
                try step()
                try bind(targets: targets, item: item)
                if try evaluate(filter).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try render(otherwise)
            return
        }
        let length = items.count
        loopChanged[scopes.count - 1] = nil
        for (index, item) in items.enumerated() {
            try step()
            try bind(targets: targets, item: item)
            let previous: TemplateValue = index > 0 ? items[index - 1] : .undefined("loop.previtem")
            let next: TemplateValue = index + 1 < length ? items[index + 1] : .undefined("loop.nextitem")
            let members: [(String, TemplateValue)] = [
                ("index0", .integer(index)), ("index", .integer(index + 1)),
                ("revindex0", .integer(length - index - 1)), ("revindex", .integer(length - index)),
                ("first", .bool(index == 0)), ("last", .bool(index == length - 1)), ("length", .integer(length)),
                ("previtem", previous), ("nextitem", next), ("depth", .integer(1)), ("depth0", .integer(0)),
                ("cycle", .function("loop.cycle")), ("changed", .function("loop.changed")),
            ]
            scopes[scopes.count - 1]["loop"] = .dictionary(members.map { (.string($0.0), $0.1) })
            if try render(body) == .breakLoop { break }
        }
    }

    private mutating func bind(targets: [String], item: TemplateValue) throws(TemplateProblem) {
        if targets.count == 1 {
            scopes[scopes.count - 1][targets[0]] = item
        } else {
            for (name, value) in zip(targets, try unpack(item, count: targets.count)) { scopes[scopes.count - 1][name] = value }
        }
    }

    /// Python iteration: list items, dictionary keys, string characters; undefined is empty.
    private mutating func iterate(_ value: TemplateValue) throws(TemplateProblem) -> [TemplateValue] {
        switch value.plain {
        case .list(let items), .tuple(let items): return items
        case .generator(let id, let items):
            let rest = items[generatorsTaken[id]...]
            generatorsTaken[id] = items.count
            return Array(rest)
        case .dictionary(let members): return members.map(\.0)
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw .typeMismatch("'\(value.typeName)' object is not iterable", line: line)
        }
    }

    private func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        if Self.globals.contains(name) { return .function(name) }
        return .undefined(name)
    }

    // MARK: Expressions

    private mutating func evaluate(_ expression: TemplateExpression) throws(TemplateProblem) -> TemplateValue {
        try step()
        switch expression {
        case .string(let s): return .string(s)
        case .integer(let i): return .integer(i)
        case .double(let d): return .double(d)
        case .bool(let b): return .bool(b)
        case .none: return .none
        case .list(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try evaluate(item)) }
            return .list(values)
        case .tuple(let items):
            var values: [TemplateValue] = []
            for item in items { values.append(try evaluate(item)) }
            return .tuple(values)
        case .dictionary(let pairs):
            var members: [(TemplateValue, TemplateValue)] = []
            for (keyExpression, valueExpression) in pairs {
                let key = try evaluate(keyExpression).plain
                guard key.isHashable else { throw .typeMismatch("unhashable type: '\(key.typeName)'", line: line) }
                let value = try evaluate(valueExpression)
                if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = value } else { members.append((key, value)) }
            }
            return .dictionary(members)
        case .variable(let name): return lookup(name)
        case .attribute(let target, let name):
            return try attribute(of: try evaluate(target).plain, name)
        case .item(let target, let key):
            return try item(of: try evaluate(target).plain, try evaluate(key).plain)
        case .slice(let target, let start, let stop, let stride):
            let value = try evaluate(target).plain
            return try slice(value, start.map { e throws(TemplateProblem) in try evaluate(e) }, stop.map { e throws(TemplateProblem) in try evaluate(e) }, stride.map { e throws(TemplateProblem) in try evaluate(e) })
        case .call(let callee, let arguments, let keywords):
            return try call(callee, arguments, keywords)
        case .filter(let target, let name, let arguments, let keywords):
            let value = try evaluate(target)
            let (positional, named) = try evaluateArguments(arguments, keywords)
            return try applyFilter(name, value, positional, named)
        case .test(let target, let name, let arguments, let negated):
            let value = try evaluate(target)
            var positional: [TemplateValue] = []
            for argument in arguments { positional.append(try evaluate(argument)) }
            return .bool(try applyTest(name, value, positional) != negated)
        case .binary(let op, let left, let right):
            let (l, r) = (try evaluate(left), try evaluate(right))
            if op == "in" || op == "not in", case .generator(let id, let items) = r {
                // Python's `in` takes a generator's items up to the first equal one.
                let rest = items[generatorsTaken[id]...]
                let found = rest.firstIndex(of: l)
                generatorsTaken[id] = found.map { $0 + 1 } ?? items.count
                return .bool((found != nil) == (op == "in"))
            }
            return try binary(op, l, r)
        case .and(let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? try evaluate(right) : l
        case .or(let left, let right):
            let l = try evaluate(left)
            return l.isTruthy ? l : try evaluate(right)
        case .not(let operand): return .bool(!(try evaluate(operand).isTruthy))
        case .negate(let operand):
            switch try evaluate(operand) {
            case .integer(let i) where i != Int.min: return .integer(-i)
            case .double(let d): return .double(-d)
            case .undefined(let name): throw .undefined("'\(name)'", line: line)
            case let other: throw .typeMismatch("bad operand type for unary -: '\(other.typeName)'", line: line)
            }
        case .conditional(let value, let condition, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(value) }
            if let otherwise { return try evaluate(otherwise) }
            return .undefined("the else branch of a conditional expression")
        }
    }

    /// A new generator yielding `items`.
    private mutating func generator(_ items: [TemplateValue]) -> TemplateValue {
        generatorsTaken.append(0)
        return .generator(id: generatorsTaken.count - 1, items)
    }

    /// A filter's arguments, evaluated in order.
    private mutating func evaluateArguments(_ arguments: [TemplateExpression], _ keywords: [(String, TemplateExpression)]) throws(TemplateProblem) -> ([TemplateValue], [String: TemplateValue]) {
        var positional: [TemplateValue] = []
        for argument in arguments { positional.append(try evaluate(argument)) }
        var named: [String: TemplateValue] = [:]
        for (key, argument) in keywords { named[key] = try evaluate(argument) }
        return (positional, named)
    }

    /// Jinja2's `getattr`: a dictionary's member or a namespace's attribute, else undefined.
    private func attribute(of value: TemplateValue, _ name: String) throws(TemplateProblem) -> TemplateValue {
        switch value {
        case .undefined(let path): throw .undefined("'\(path)'", line: line)
        case .dictionary(let members): return members.first { $0.0 == .string(name) }?.1 ?? .undefined(name)
        case .namespace(let id): return namespaces[id].first { $0.0 == name }?.1 ?? .undefined(name)
        default: return .undefined(name)
        }
    }

    /// Jinja2's `getitem`: dictionary key, list or string index (negative from the end), else
    /// undefined.
    private func item(of value: TemplateValue, _ key: TemplateValue) throws(TemplateProblem) -> TemplateValue {
        if case .bool(let b) = key, value.sequence != nil || value.isString { return try item(of: value, .integer(b ? 1 : 0)) }
        switch (value, key) {
        case (.undefined(let path), _): throw .undefined("'\(path)'", line: line)
        case (.dictionary(let members), _): return members.first { $0.0 == key }?.1 ?? .undefined("item \(key.pythonRepresentation)")
        case (.namespace, .string(let name)): return try attribute(of: value, name)
        case (.list(let items), .integer(let i)), (.tuple(let items), .integer(let i)):
            let index = i < 0 ? items.count + i : i
            return items.indices.contains(index) ? items[index] : .undefined("item \(i)")
        case (.string(let s), .integer(let i)):
            let scalars = Array(s.unicodeScalars)
            let index = i < 0 ? scalars.count + i : i
            return scalars.indices.contains(index) ? .string(String(scalars[index])) : .undefined("item \(i)")
        case (_, .string(let name)): return .undefined(name)
        default: return .undefined("item \(key.pythonRepresentation)")
        }
    }

    private func slice(_ value: TemplateValue, _ start: TemplateValue?, _ stop: TemplateValue?, _ stride: TemplateValue?) throws(TemplateProblem) -> TemplateValue {
        func bound(_ v: TemplateValue?) throws(TemplateProblem) -> Int? {
            switch v {
            case nil, .none?: return nil
            case .integer(let i)?: return i
            default: throw .typeMismatch("slice indices must be integers or none", line: line)
            }
        }
        let step = try bound(stride) ?? 1
        guard step != 0 else { throw .typeMismatch("slice step cannot be zero", line: line) }
        func indices(count: Int) throws(TemplateProblem) -> [Int] {
            func clamp(_ i: Int?, _ defaultValue: Int) -> Int {
                guard var i else { return defaultValue }
                if i < 0 { i += count }
                return step > 0 ? min(max(i, 0), count) : min(max(i, -1), count - 1)
            }
            let from = clamp(try bound(start), step > 0 ? 0 : count - 1)
            let to = clamp(try bound(stop), step > 0 ? count : -1)
            return Array(Swift.stride(from: from, to: to, by: step))
        }
        switch value {
        case .list(let items): return .list(try indices(count: items.count).map { items[$0] })
        case .tuple(let items): return .tuple(try indices(count: items.count).map { items[$0] })
        case .string(let s):
            let scalars = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try indices(count: scalars.count) { out.append(scalars[i]) }
            return .string(String(out))
        case .undefined(let path): throw .undefined("'\(path)'", line: line)
        default: throw .typeMismatch("'\(value.typeName)' object is not subscriptable", line: line)
        }
    }

    // MARK: Calls

    private mutating func call(_ callee: TemplateExpression, _ arguments: [TemplateExpression], _ keywords: [(String, TemplateExpression)],
                               extra: [(String, TemplateValue)] = []) throws(TemplateProblem) -> TemplateValue {
        var positional: [TemplateValue] = []
        var named: [(String, TemplateValue)] = []
        if case .attribute(let receiverExpression, let method) = callee {
            let receiver = try evaluate(receiverExpression)
            for argument in arguments { positional.append(try evaluate(argument)) }
            for (key, argument) in keywords { named.append((key, try evaluate(argument))) }
            if case .namespace = receiver {} else if case .dictionary(let members) = receiver, members.contains(where: { $0.0 == .string(method) }) {} else {
                return try callMethod(receiver, method, positional, named)
            }
        }
        let function = try evaluate(callee)
        if positional.isEmpty && named.isEmpty {
            for argument in arguments { positional.append(try evaluate(argument)) }
            for (key, argument) in keywords { named.append((key, try evaluate(argument))) }
        }
        named += extra
        switch function {
        case .macro(let id):
            return try invoke(id, positional, named)
        case .function("loop.cycle"), .function("loop.changed"):
            // The innermost loop's `cycle(*values)` (the value at its index, round the values)
            // and `changed(*values)` (whether they differ from this loop's previous call).
            guard let scope = scopes.lastIndex(where: { $0["loop"] != nil }), case .integer(let index)? = scopes[scope]["loop"]?["index0"] else {
                throw .undefined("'loop'", line: line)
            }
            if case .function("loop.cycle") = function {
                guard !positional.isEmpty else { throw .typeMismatch("no items for cycling given", line: line) }
                return positional[index % positional.count]
            }
            let values = TemplateValue.tuple(positional)
            defer { loopChanged[scope] = values }
            return .bool(loopChanged[scope] != values)
        case .function("raise_exception"):
            throw .raised(positional.first?.pythonString ?? "")
        case .function("strftime_now"):
            guard case .string(let format)? = positional.first else { throw .typeMismatch("strftime_now() takes a format string", line: line) }
            return .string(Self.formatTime(format, at: now))
        case .function("range"):
            var bounds: [Int] = []
            for value in positional {
                guard case .integer(let i) = value else { throw .typeMismatch("range() takes integers", line: line) }
                bounds.append(i)
            }
            let (from, to, by): (Int, Int, Int)
            switch bounds.count {
            case 1: (from, to, by) = (0, bounds[0], 1)
            case 2: (from, to, by) = (bounds[0], bounds[1], 1)
            case 3: (from, to, by) = (bounds[0], bounds[1], bounds[2])
            default: throw .typeMismatch("range() takes 1 to 3 integers", line: line)
            }
            guard by != 0 else { throw .typeMismatch("range() step must not be zero", line: line) }
            let count = by > 0 ? max(0, (to - from + by - 1) / by) : max(0, (from - to - by - 1) / -by)
            guard count <= limits.maxItems else { throw .limitExceeded("list length (\(limits.maxItems) items)") }
            try step(count)
            try chargeItems(count)
            return .list(Swift.stride(from: from, to: to, by: by).map { .integer($0) })
        case .function("namespace"), .function("dict"):
            var members: [(String, TemplateValue)] = []
            if case .dictionary(let initial)? = positional.first { members = initial.map { ($0.0.pythonString, $0.1) } }
            for (key, value) in named {
                if let index = members.firstIndex(where: { $0.0 == key }) { members[index].1 = value } else { members.append((key, value)) }
            }
            if case .function("dict") = function { return .dictionary(members.map { (.string($0.0), $0.1) }) }
            for (name, _) in members { try checkNamespaceName(name) }
            namespaces.append(members)
            return .namespace(namespaces.count - 1)
        case .undefined(let name): throw .undefined("'\(name)'", line: line)
        default: throw .typeMismatch("'\(function.typeName)' object is not callable", line: line)
        }
    }

    /// C's `strftime` (what Python's calls) of `instant` as UTC, or of the local time now.
    private static func formatTime(_ format: String, at instant: Int?) -> String {
        var parts = tm()
        if let instant {
            var seconds = time_t(instant)
            gmtime_r(&seconds, &parts)
        } else {
            var seconds = time(nil)
            localtime_r(&seconds, &parts)
        }
        var buffer = [CChar](repeating: 0, count: 512)
        let count = strftime(&buffer, buffer.count, format, &parts)
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func string(_ value: TemplateValue?, _ what: String) throws(TemplateProblem) -> String? {
        switch value {
        case nil, .none?: return nil
        case .string(let s)?: return s
        default: throw .typeMismatch("\(what) must be a string", line: line)
        }
    }

    /// Python string and dictionary methods; list-mutating methods are refused, as the
    /// immutable sandbox does.
    private mutating func callMethod(_ receiver: TemplateValue, _ method: String, _ arguments: [TemplateValue], _ keywords: [(String, TemplateValue)]) throws(TemplateProblem) -> TemplateValue {
        let receiver = receiver.plain, arguments = arguments.map(\.plain), keywords = keywords.map { ($0.0, $0.1.plain) }
        let argument = { (i: Int, name: String) -> TemplateValue? in arguments.count > i ? arguments[i] : keywords.first { $0.0 == name }?.1 }
        switch receiver {
        case .undefined(let path): throw .undefined("'\(path)'", line: line)
        case .string(let s):
            switch method {
            case "upper": return .string(s.uppercased())
            case "lower": return .string(s.lowercased())
            case "strip", "lstrip", "rstrip":
                let characters = try string(argument(0, "chars"), "strip()'s argument")
                return .string(Self.strip(s, characters, leading: method != "rstrip", trailing: method != "lstrip"))
            case "startswith", "endswith":
                var candidates: [String] = []
                switch argument(0, "prefix") {
                case .string(let p)?: candidates = [p]
                case .list(let items)?, .tuple(let items)?:
                    for case .string(let p) in items { candidates.append(p) }
                default: throw .typeMismatch("\(method)() takes a string", line: line)
                }
                let scalars = Array(s.unicodeScalars)
                return .bool(candidates.contains { candidate in
                    let c = Array(candidate.unicodeScalars)
                    return method == "startswith" ? scalars.starts(with: c) : scalars.reversed().starts(with: c.reversed())
                })
            case "split":
                let separator = try string(argument(0, "sep"), "split()'s separator")
                var limit = -1
                if case .integer(let n)? = argument(1, "maxsplit") { limit = n }
                if separator == "" { throw .typeMismatch("split() separator is empty", line: line) }
                let parts = Self.split(s, separator, limit: limit)
                guard parts.count <= limits.maxItems else { throw .limitExceeded("list length (\(limits.maxItems) items)") }
                return .list(parts.map { .string($0) })
            case "replace":
                guard case .string(let old)? = argument(0, "old"), case .string(let new)? = argument(1, "new") else {
                    throw .typeMismatch("replace() takes two strings", line: line)
                }
                var count = -1
                if case .integer(let n)? = argument(2, "count") { count = n }
                return .string(try replace(s, old, new, count: count))
            case "title": return .string(Self.pythonTitle(s))
            case "find", "rfind", "count":
                guard case .string(let needle)? = argument(0, "sub") else { throw .typeMismatch("\(method)() takes a string", line: line) }
                let haystack = Array(s.unicodeScalars), target = Array(needle.unicodeScalars)
                guard target.count <= haystack.count else { return .integer(method == "count" ? 0 : -1) }
                let matches = { (i: Int) in haystack[i..<i + target.count].elementsEqual(target) }
                let starts = 0...(haystack.count - target.count)
                switch method {
                case "find": return .integer(starts.first(where: matches) ?? -1)
                case "rfind": return .integer(starts.reversed().first(where: matches) ?? -1)
                default:
                    // Non-overlapping occurrences, as Python counts them.
                    var count = 0, index = 0
                    while index <= haystack.count - target.count {
                        if matches(index) { count += 1; index += max(target.count, 1) } else { index += 1 }
                    }
                    return .integer(count)
                }
            case "isdigit", "isalpha", "isalnum", "isspace":
                let scalars = s.unicodeScalars
                let test: (Unicode.Scalar) -> Bool = switch method {
                case "isdigit": { $0.properties.numericType == .digit || $0.properties.numericType == .decimal }
                case "isalpha": { $0.properties.isAlphabetic }
                case "isalnum": { $0.properties.isAlphabetic || $0.properties.numericType != nil }
                default: TemplateLexer.isSpace
                }
                return .bool(!scalars.isEmpty && scalars.allSatisfy(test))
            case "isupper", "islower":
                let cased = s.unicodeScalars.contains { $0.properties.isCased }
                return .bool(cased && (method == "isupper" ? s.uppercased() == s : s.lowercased() == s))
            case "removeprefix", "removesuffix":
                guard case .string(let affix)? = argument(0, method == "removeprefix" ? "prefix" : "suffix") else {
                    throw .typeMismatch("\(method)() takes a string", line: line)
                }
                let scalars = Array(s.unicodeScalars), cut = Array(affix.unicodeScalars)
                var kept = scalars[...]
                if method == "removeprefix", scalars.starts(with: cut) { kept = scalars.dropFirst(cut.count) }
                if method == "removesuffix", !cut.isEmpty, scalars.reversed().starts(with: cut.reversed()) { kept = scalars.dropLast(cut.count) }
                return .string(String(String.UnicodeScalarView(kept)))
            case "splitlines": return .list(Self.splitLines(s).map { .string($0) })
            case "capitalize": return .string(Self.capitalize(s))
            case "format": return .string(try limited(try Self.format(s, arguments, keywords, line: line)))
            case "join":
                var parts: [String] = []
                for item in try iterate(argument(0, "iterable") ?? .list([])) {
                    guard case .string(let p) = item else { throw .typeMismatch("join() expects strings, got \(item.typeName)", line: line) }
                    parts.append(p)
                }
                return .string(try limited(parts.joined(separator: s)))
            default: break
            }
        case .dictionary(let members):
            switch method {
            case "items": return .list(members.map { .tuple([$0.0, $0.1]) })
            case "keys": return .list(members.map(\.0))
            case "values": return .list(members.map(\.1))
            case "get":
                guard let key = argument(0, "key") else { return argument(1, "default") ?? .none }
                return members.first { $0.0 == key }?.1 ?? argument(1, "default") ?? .none
            default: break
            }
        case .list:
            if ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse"].contains(method) {
                throw .unsupported("list.\(method)() (the sandbox makes lists immutable; build a new list with '+')", line: line)
            }
        default: break
        }
        throw .unsupported("method '\(method)' of a \(receiver.typeName)", line: line)
    }

    /// Python's `str.format` with `{}`, `{0}` and `{name}` fields and `{{`/`}}` escapes; a
    /// conversion or format spec is refused.
    static func format(_ s: String, _ arguments: [TemplateValue], _ keywords: [(String, TemplateValue)], line: Int) throws(TemplateProblem) -> String {
        var out = ""
        var automatic = 0
        var scalars = s.unicodeScalars[...]
        while let scalar = scalars.popFirst() {
            if scalar == "}" {
                guard scalars.popFirst() == "}" else { throw .typeMismatch("Single '}' encountered in format string", line: line) }
                out += "}"
                continue
            }
            guard scalar == "{" else { out.unicodeScalars.append(scalar); continue }
            if scalars.first == "{" { scalars.removeFirst(); out += "{"; continue }
            var field = ""
            while let next = scalars.popFirst(), next != "}" { field.unicodeScalars.append(next) }
            if field.contains(":") || field.contains("!") || field.contains(".") || field.contains("[") {
                throw .unsupported("str.format() field '{\(field)}' (only {}, {N} and {name} are supported)", line: line)
            }
            let value: TemplateValue?
            if field.isEmpty {
                value = automatic < arguments.count ? arguments[automatic] : nil
                automatic += 1
            } else if let index = Int(field) {
                value = index < arguments.count ? arguments[index] : nil
            } else {
                value = keywords.first { $0.0 == field }?.1
            }
            guard let value else { throw .typeMismatch("str.format() has no argument for the field '{\(field)}'", line: line) }
            out += value.pythonString
        }
        return out
    }

    private func limited(_ s: String) throws(TemplateProblem) -> String {
        guard s.utf8.count <= limits.maxOutputBytes else { throw .limitExceeded("string length (\(limits.maxOutputBytes) bytes)") }
        try charge(s.utf8.count)
        return s
    }

    /// Charges `bytes` of a string or list being built to the render's allocation budget.
    private func charge(_ bytes: Int) throws(TemplateProblem) {
        guard allocation.budget.charge(bytes) else { throw .limitExceeded("memory allocated while rendering (\(limits.maxAllocatedBytes) bytes)") }
    }

    /// Charges a list of `count` items being built.
    private func chargeItems(_ count: Int) throws(TemplateProblem) {
        try charge(count * MemoryLayout<TemplateValue>.stride)
    }

    static func strip(_ s: String, _ characters: String?, leading: Bool, trailing: Bool) -> String {
        let set = characters.map { Set($0.unicodeScalars) }
        let drop = { (c: Unicode.Scalar) -> Bool in set.map { $0.contains(c) } ?? TemplateLexer.isSpace(c) }
        var scalars = Array(s.unicodeScalars)[...]
        if leading { while let f = scalars.first, drop(f) { scalars.removeFirst() } }
        if trailing { while let l = scalars.last, drop(l) { scalars.removeLast() } }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    /// Python's `str.split(sep, maxsplit)`; no separator splits on runs of whitespace.
    static func split(_ s: String, _ separator: String?, limit: Int) -> [String] {
        let scalars = Array(s.unicodeScalars)
        func text(_ slice: ArraySlice<Unicode.Scalar>) -> String { var v = String.UnicodeScalarView(); v.append(contentsOf: slice); return String(v) }
        var parts: [String] = []
        guard let separator else {
            var i = 0
            while i < scalars.count {
                while i < scalars.count, TemplateLexer.isSpace(scalars[i]) { i += 1 }
                guard i < scalars.count else { break }
                if limit >= 0, parts.count == limit {
                    var end = scalars.count
                    while end > i, TemplateLexer.isSpace(scalars[end - 1]) { end -= 1 }
                    parts.append(text(scalars[i..<end]))
                    break
                }
                let start = i
                while i < scalars.count, !TemplateLexer.isSpace(scalars[i]) { i += 1 }
                parts.append(text(scalars[start..<i]))
            }
            return parts
        }
        let sep = Array(separator.unicodeScalars)
        var start = 0
        var i = 0
        while i + sep.count <= scalars.count {
            if (limit < 0 || parts.count < limit), scalars[i..<i + sep.count].elementsEqual(sep) {
                parts.append(text(scalars[start..<i]))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(text(scalars[start...]))
        return parts
    }

    private func replace(_ s: String, _ old: String, _ new: String, count: Int) throws(TemplateProblem) -> String {
        if old.isEmpty {
            var out = ""
            var replaced = 0
            for scalar in s.unicodeScalars {
                if count < 0 || replaced < count { out += new; replaced += 1 }
                out.unicodeScalars.append(scalar)
            }
            if count < 0 || replaced < count { out += new }
            return try limited(out)
        }
        let parts = Self.split(s, old, limit: count)
        return try limited(parts.joined(separator: new))
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        var rest = String.UnicodeScalarView()
        rest.append(contentsOf: s.unicodeScalars.dropFirst())
        return String(first).uppercased() + String(rest).lowercased()
    }

    static func pythonTitle(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for scalar in s.unicodeScalars {
            let cased = scalar.properties.isCased
            out += previousCased ? String(scalar).lowercased() : String(scalar).uppercased()
            previousCased = cased
        }
        return out
    }

    // MARK: Operators

    private func binary(_ op: String, _ left: TemplateValue, _ right: TemplateValue) throws(TemplateProblem) -> TemplateValue {
        switch (op, left, right) {
        case ("+", .markup(let a), .string(let b)): return .markup(try limited(a + TemplateValue.htmlEscaped(b)))
        case ("+", .string(let a), .markup(let b)): return .markup(try limited(TemplateValue.htmlEscaped(a) + b))
        case ("+", .markup(let a), .markup(let b)): return .markup(try limited(a + b))
        default: break
        }
        let left = left.plain, right = right.plain
        switch op {
        case "~": return .string(try limited(left.pythonString + right.pythonString))
        case "==": return .bool(left == right)
        case "!=": return .bool(left != right)
        case "in", "not in":
            let found: Bool
            switch right {
            case .string(let haystack):
                guard case .string(let needle) = left else { throw .typeMismatch("'in <string>' requires a string on the left, not \(left.typeName)", line: line) }
                found = needle.isEmpty || Self.split(haystack, needle, limit: 1).count > 1
            case .list(let items), .tuple(let items), .generator(_, let items): found = items.contains(left)
            case .dictionary(let members): found = members.contains { $0.0 == left }
            case .undefined: found = false
            default: throw .typeMismatch("argument of type '\(right.typeName)' is not iterable", line: line)
            }
            return .bool(found == (op == "in"))
        default: break
        }
        if case .undefined(let name) = left { throw .undefined("'\(name)'", line: line) }
        if case .undefined(let name) = right { throw .undefined("'\(name)'", line: line) }
        // Arithmetic and ordering treat Python's booleans as the integers 0 and 1.
        if case .bool(let b) = left { return try binary(op, .integer(b ? 1 : 0), right) }
        if case .bool(let b) = right { return try binary(op, left, .integer(b ? 1 : 0)) }
        let mismatch = TemplateProblem.typeMismatch("unsupported operand types for \(op): '\(left.typeName)' and '\(right.typeName)'", line: line)
        switch (op, left, right) {
        case ("+", .string(let a), .string(let b)): return .string(try limited(a + b))
        case ("+", .tuple(let a), .tuple(let b)):
            guard a.count + b.count <= limits.maxItems else { throw .limitExceeded("list length (\(limits.maxItems) items)") }
            try chargeItems(a.count + b.count)
            return .tuple(a + b)
        case ("+", .list(let a), .list(let b)):
            guard a.count + b.count <= limits.maxItems else { throw .limitExceeded("list length (\(limits.maxItems) items)") }
            try chargeItems(a.count + b.count)
            return .list(a + b)
        case ("*", .string(let s), .integer(let n)), ("*", .integer(let n), .string(let s)):
            guard n <= 0 || s.utf8.count <= limits.maxOutputBytes / n else { throw .limitExceeded("string length (\(limits.maxOutputBytes) bytes)") }
            try charge(max(0, n) * s.utf8.count)
            return .string(n > 0 ? String(repeating: s, count: n) : "")
        case ("*", .list(let l), .integer(let n)), ("*", .integer(let n), .list(let l)):
            guard n <= 0 || l.count <= limits.maxItems / n else { throw .limitExceeded("list length (\(limits.maxItems) items)") }
            try chargeItems(max(0, n) * l.count)
            return .list(n > 0 ? Array([[TemplateValue]](repeating: l, count: n).joined()) : [])
        case ("%", .string, _): throw .unsupported("string formatting with '%'", line: line)
        case (_, .integer(let a), .integer(let b)):
            switch op {
            case "+", "-", "*":
                let (value, overflow) = op == "+" ? a.addingReportingOverflow(b) : op == "-" ? a.subtractingReportingOverflow(b) : a.multipliedReportingOverflow(by: b)
                guard !overflow else { throw .typeMismatch("integer overflow in \(op)", line: line) }
                return .integer(value)
            case "/":
                guard b != 0 else { throw .typeMismatch("division by zero", line: line) }
                return .double(Double(a) / Double(b))
            case "//", "%":
                guard b != 0 else { throw .typeMismatch("integer division or modulo by zero", line: line) }
                guard !(a == Int.min && b == -1) else { throw .typeMismatch("integer overflow in \(op)", line: line) }
                var quotient = a / b
                if (a % b != 0) && ((a < 0) != (b < 0)) { quotient -= 1 }
                return .integer(op == "//" ? quotient : a - quotient * b)
            case "**":
                guard b >= 0 else { return .double(pow(Double(a), Double(b))) }
                var result = 1
                for _ in 0..<min(b, 64) {
                    let (value, overflow) = result.multipliedReportingOverflow(by: a)
                    guard !overflow else { throw .typeMismatch("integer overflow in **", line: line) }
                    result = value
                }
                if b > 64 && !(a == 0 || a == 1) { throw .typeMismatch("integer overflow in **", line: line) }
                return .integer(result)
            case "<": return .bool(a < b)
            case "<=": return .bool(a <= b)
            case ">": return .bool(a > b)
            case ">=": return .bool(a >= b)
            default: throw mismatch
            }
        case (_, .string(let a), .string(let b)):
            let x = Array(a.unicodeScalars.map(\.value)), y = Array(b.unicodeScalars.map(\.value))
            switch op {
            case "<": return .bool(x.lexicographicallyPrecedes(y))
            case "<=": return .bool(!y.lexicographicallyPrecedes(x))
            case ">": return .bool(y.lexicographicallyPrecedes(x))
            case ">=": return .bool(!x.lexicographicallyPrecedes(y))
            default: throw mismatch
            }
        default:
            guard let a = Self.number(left), let b = Self.number(right) else { throw mismatch }
            switch op {
            case "+": return .double(a + b)
            case "-": return .double(a - b)
            case "*": return .double(a * b)
            case "/":
                guard b != 0 else { throw .typeMismatch("division by zero", line: line) }
                return .double(a / b)
            case "//", "%":
                guard b != 0 else { throw .typeMismatch("float division or modulo by zero", line: line) }
                let q = (a / b).rounded(.down)
                return .double(op == "//" ? q : a - q * b)
            case "**": return .double(pow(a, b))
            case "<": return .bool(a < b)
            case "<=": return .bool(a <= b)
            case ">": return .bool(a > b)
            case ">=": return .bool(a >= b)
            default: throw mismatch
            }
        }
    }

    private static func number(_ value: TemplateValue) -> Double? {
        switch value {
        case .integer(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    // MARK: Filters and tests

    /// Jinja2's attribute getter for `selectattr`, `map(attribute=)`, `join(attribute=)`: a
    /// dotted path of keys (integers index lists).
    private func attributePath(_ value: TemplateValue, _ path: String) throws(TemplateProblem) -> TemplateValue {
        var current = value
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            let key: TemplateValue = Int(part).map { .integer($0) } ?? .string(String(part))
            current = try item(of: current, key)
        }
        return current
    }

    private mutating func applyFilter(_ name: String, _ value: TemplateValue, _ arguments: [TemplateValue], _ keywords: [String: TemplateValue]) throws(TemplateProblem) -> TemplateValue {
        if name == "safe" { return value.isUndefined ? value : .markup(value.pythonString) }
        if name == "escape" || name == "e" || name == "forceescape" {
            // markupsafe's escape: Markup stays as it is (unless forced), anything else is
            // escaped and becomes Markup.
            if case .markup = value, name != "forceescape" { return value }
            return .markup(TemplateValue.htmlEscaped(value.pythonString))
        }
        let value = value.plain, arguments = arguments.map(\.plain), keywords = keywords.mapValues(\.plain)
        let argument = { (i: Int, key: String) -> TemplateValue? in arguments.count > i ? arguments[i] : keywords[key] }
        switch name {
        case "upper": return .string(value.pythonString.uppercased())
        case "lower": return .string(value.pythonString.lowercased())
        case "capitalize": return .string(Self.capitalize(value.pythonString))
        case "trim":
            return .string(Self.strip(value.pythonString, try string(argument(0, "chars"), "trim's argument"), leading: true, trailing: true))
        case "string": return .string(value.pythonString)
        case "length", "count":
            switch value {
            case .string(let s): return .integer(s.unicodeScalars.count)
            case .list(let l), .tuple(let l): return .integer(l.count)
            case .dictionary(let d): return .integer(d.count)
            case .undefined: return .integer(0)
            default: throw .typeMismatch("object of type '\(value.typeName)' has no len()", line: line)
            }
        case "default", "d":
            let fallback = argument(0, "default_value") ?? .string("")
            let boolean = argument(1, "boolean")?.isTruthy ?? false
            if value.isUndefined || (boolean && !value.isTruthy) { return fallback }
            return value
        case "first", "last":
            if name == "first", case .generator(let id, let items) = value {
                // next(generator): one item taken, the rest left for later.
                guard generatorsTaken[id] < items.count else { return .undefined("first item of an empty sequence") }
                generatorsTaken[id] += 1
                return items[generatorsTaken[id] - 1]
            }
            if name == "last", case .generator = value { throw .typeMismatch("'generator' object is not reversible", line: line) }
            let items = try iterate(value)
            try step(items.count)
            return (name == "first" ? items.first : items.last) ?? .undefined("\(name) item of an empty sequence")
        case "list":
            let items = try iterate(value)
            return .list(items)
        case "reverse":
            if case .string(let s) = value { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try iterate(value).reversed())
        case "items":
            switch value {
            case .dictionary(let members): return .list(members.map { .tuple([$0.0, $0.1]) })
            case .undefined: return .list([])
            default: throw .typeMismatch("can only get item pairs from a mapping", line: line)
            }
        case "join":
            let separator = argument(0, "d")?.pythonString ?? ""
            var items = try iterate(value)
            try step(items.count)
            if let attribute = argument(1, "attribute") {
                var mapped: [TemplateValue] = []
                for item in items { mapped.append(try attributePath(item, attribute.pythonString)) }
                items = mapped
            }
            return .string(try limited(items.map(\.pythonString).joined(separator: separator)))
        case "map":
            // Jinja2 maps and selects nothing from a false value (None included).
            let items = value.isTruthy ? try iterate(value) : []
            try step(items.count)
            if let attribute = keywords["attribute"] {
                var mapped: [TemplateValue] = []
                for item in items {
                    let member = try attributePath(item, attribute.pythonString)
                    mapped.append(member.isUndefined ? (keywords["default"] ?? member) : member)
                }
                return generator(mapped)
            }
            guard case .string(let filterName)? = arguments.first else { throw .typeMismatch("map needs a filter name or attribute=", line: line) }
            guard Self.filters.contains(filterName) else { throw .unsupported("filter '\(filterName)'", line: line) }
            var mapped: [TemplateValue] = []
            for item in items { mapped.append(try applyFilter(filterName, item, Array(arguments.dropFirst()), [:])) }
            return generator(mapped)
        case "selectattr", "rejectattr", "select", "reject":
            let items = value.isTruthy ? try iterate(value) : []
            try step(items.count)
            let byAttribute = name.hasSuffix("attr")
            var rest = arguments[...]
            var attribute = ""
            if byAttribute {
                guard let first = rest.popFirst() else { throw .typeMismatch("\(name) needs an attribute name", line: line) }
                attribute = first.pythonString
            }
            let testName = rest.popFirst()
            if let testName {
                guard case .string(let t) = testName, Self.tests.contains(t) else { throw .unsupported("test \(testName.pythonRepresentation)", line: line) }
            }
            let keep = name.hasPrefix("select")
            var selected: [TemplateValue] = []
            for item in items {
                let subject = byAttribute ? try attributePath(item, attribute) : item
                let passes = try testName.map { t throws(TemplateProblem) in try applyTest(t.pythonString, subject, Array(rest)) } ?? subject.isTruthy
                if passes == keep { selected.append(item) }
            }
            return generator(selected)
        case "dictsort":
            guard case .dictionary(let members) = value else { throw .typeMismatch("dictsort needs a mapping, not \(value.typeName)", line: line) }
            let caseSensitive = argument(0, "case_sensitive")?.isTruthy ?? false
            let byValue = argument(1, "by") == .string("value")
            let pairs: [TemplateValue] = members.map { .tuple([$0.0, $0.1]) }
            return .list(try sorted(pairs, reverse: argument(2, "reverse")?.isTruthy ?? false) { pair throws(TemplateProblem) in
                guard case .tuple(let kv) = pair else { return pair }
                return Self.sortKey(kv[byValue ? 1 : 0], caseSensitive: caseSensitive)
            })
        case "sort":
            let caseSensitive = argument(1, "case_sensitive")?.isTruthy ?? false
            let attribute = argument(2, "attribute")
            return .list(try sorted(try iterate(value), reverse: argument(0, "reverse")?.isTruthy ?? false) { item throws(TemplateProblem) in
                Self.sortKey(try attribute.map { a throws(TemplateProblem) in try attributePath(item, a.pythonString) } ?? item, caseSensitive: caseSensitive)
            })
        case "unique":
            let caseSensitive = argument(0, "case_sensitive")?.isTruthy ?? false
            let attribute = argument(1, "attribute")
            var seen: [TemplateValue] = []
            var kept: [TemplateValue] = []
            for item in try iterate(value) {
                try step()
                let key = Self.sortKey(try attribute.map { a throws(TemplateProblem) in try attributePath(item, a.pythonString) } ?? item, caseSensitive: caseSensitive)
                if !seen.contains(key) { seen.append(key); kept.append(item) }
            }
            return generator(kept)
        case "min", "max":
            let caseSensitive = argument(0, "case_sensitive")?.isTruthy ?? false
            let attribute = argument(1, "attribute")
            let ordered = try sorted(try iterate(value), reverse: false) { item throws(TemplateProblem) in
                Self.sortKey(try attribute.map { a throws(TemplateProblem) in try attributePath(item, a.pythonString) } ?? item, caseSensitive: caseSensitive)
            }
            // Python's min/max keep the first of equal items.
            guard let chosen = name == "min" ? ordered.first : try ordered.last.map({ last throws(TemplateProblem) in
                let key = Self.sortKey(try attribute.map { a throws(TemplateProblem) in try attributePath(last, a.pythonString) } ?? last, caseSensitive: caseSensitive)
                for item in ordered {
                    let itemKey = Self.sortKey(try attribute.map { a throws(TemplateProblem) in try attributePath(item, a.pythonString) } ?? item, caseSensitive: caseSensitive)
                    if itemKey == key { return item }
                }
                return last
            }) else { return .undefined("\(name) of an empty sequence") }
            return chosen
        case "sum":
            var total: TemplateValue = argument(1, "start") ?? .integer(0)
            for item in try iterate(value) {
                try step()
                total = try binary("+", total, try argument(0, "attribute").map { a throws(TemplateProblem) in try attributePath(item, a.pythonString) } ?? item)
            }
            return total
        case "indent":
            var indentation = "    "
            switch argument(0, "width") {
            case .string(let text)?: indentation = text
            case .integer(let n)?: indentation = String(repeating: " ", count: max(0, min(n, limits.maxOutputBytes)))
            default: break
            }
            let lines = Self.splitLines(value.pythonString + "\n")
            var text: String
            if argument(2, "blank")?.isTruthy ?? false {
                text = lines.joined(separator: "\n" + indentation)
            } else {
                text = lines.first ?? ""
                if lines.count > 1 { text += "\n" + lines.dropFirst().map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n") }
            }
            if argument(1, "first")?.isTruthy ?? false { text = indentation + text }
            return .string(try limited(text))
        case "title": return .string(Self.pythonTitle(value.pythonString))
        case "round":
            guard let number = Self.number(value) else { throw .typeMismatch("round needs a number", line: line) }
            var precision = 0
            if case .integer(let p)? = argument(0, "precision") { precision = p }
            let method = argument(1, "method")?.pythonString ?? "common"
            let scale = pow(10.0, Double(precision))
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven
            return .double((number * scale).rounded(rule) / scale)
        case "tojson":
            var indent: Int? = nil
            if case .integer(let n)? = argument(0, "indent") { indent = n }
            var itemSeparator = indent == nil ? ", " : ","
            var keySeparator = ": "
            if let separators = keywords["separators"]?.sequence, separators.count == 2,
               case .string(let a) = separators[0], case .string(let b) = separators[1] {
                itemSeparator = a
                keySeparator = b
            }
            let sortKeys = keywords["sort_keys"]?.isTruthy ?? false
            var text = ""
            try Self.json(value, indent: indent, level: 0, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys, into: &text, line: line)
            return .string(try limited(text))
        case "int":
            switch value {
            case .integer: return value
            case .double(let d) where d.isFinite && abs(d) < 9e18: return .integer(Int(d))
            case .bool(let b): return .integer(b ? 1 : 0)
            case .string(let s): return Int(Self.strip(s, nil, leading: true, trailing: true)).map { .integer($0) } ?? (argument(0, "default") ?? .integer(0))
            default: return argument(0, "default") ?? .integer(0)
            }
        case "float":
            switch value {
            case .integer(let i): return .double(Double(i))
            case .double: return value
            case .string(let s): return Double(Self.strip(s, nil, leading: true, trailing: true)).map { .double($0) } ?? (argument(0, "default") ?? .double(0))
            default: return argument(0, "default") ?? .double(0)
            }
        case "abs":
            switch value {
            case .integer(let i) where i != Int.min: return .integer(abs(i))
            case .double(let d): return .double(abs(d))
            default: throw .typeMismatch("bad operand type for abs(): '\(value.typeName)'", line: line)
            }
        case "replace":
            guard case .string(let old)? = argument(0, "old"), case .string(let new)? = argument(1, "new") else {
                throw .typeMismatch("replace takes two strings", line: line)
            }
            var count = -1
            if case .integer(let n)? = argument(2, "count") { count = n }
            return .string(try replace(value.pythonString, old, new, count: count))
        default:
            throw .unsupported("filter '\(name)'", line: line)
        }
    }

    /// Python's `sorted(items, key=key, reverse=reverse)` (stable); unorderable keys are an error.
    private func sorted(_ items: [TemplateValue], reverse: Bool, key: (TemplateValue) throws(TemplateProblem) -> TemplateValue) throws(TemplateProblem) -> [TemplateValue] {
        var keyed: [(key: TemplateValue, item: TemplateValue)] = []
        for item in items { keyed.append((try key(item), item)) }
        var failure: TemplateProblem? = nil
        let ordered = keyed.enumerated().sorted { a, b in
            do throws(TemplateProblem) {
                let (first, second) = reverse ? (b.element.key, a.element.key) : (a.element.key, b.element.key)
                if try binary("<", first, second).isTruthy { return true }
                if try binary("<", second, first).isTruthy { return false }
            } catch {
                failure = failure ?? error
            }
            return a.offset < b.offset
        }
        if let failure { throw failure }
        return ordered.map(\.element.item)
    }

    /// Jinja2's `ignore_case`: strings compare lowercased unless case-sensitive.
    private static func sortKey(_ value: TemplateValue, caseSensitive: Bool) -> TemplateValue {
        if !caseSensitive, case .string(let s) = value { return .string(s.lowercased()) }
        return value
    }

    /// Python's `str.splitlines()`.
    static func splitLines(_ s: String) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var previousCR = false
        for scalar in s.unicodeScalars {
            if previousCR, scalar == "\n" { previousCR = false; continue }
            previousCR = scalar == "\r"
            if ["\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}"].contains(scalar) {
                lines.append(String(current))
                current = String.UnicodeScalarView()
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    private func applyTest(_ name: String, _ value: TemplateValue, _ arguments: [TemplateValue]) throws(TemplateProblem) -> Bool {
        let value = value.plain, arguments = arguments.map(\.plain)
        let other = arguments.first ?? .undefined("the test's argument")
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value == .none
        case "string": if case .string = value { return true } else { return false }
        case "number": switch value { case .integer, .double: return true; default: return false }
        case "integer": if case .integer = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "mapping": if case .dictionary = value { return true } else { return false }
        case "iterable", "sequence":
            switch value { case .string, .list, .tuple, .dictionary: return true; case .undefined, .generator: return name == "iterable"; default: return false }
        case "callable": switch value { case .function, .macro: return true; default: return false }
        case "equalto", "eq", "sameas": return value == other
        case "ne": return value != other
        case "lt", "le", "gt", "ge":
            let op = ["lt": "<", "le": "<=", "gt": ">", "ge": ">="][name] ?? "<"
            return try binary(op, value, other).isTruthy
        case "in": return try binary("in", value, other).isTruthy
        case "odd", "even", "divisibleby":
            guard case .integer(let i) = value else { throw .typeMismatch("test '\(name)' needs an integer", line: line) }
            if name == "divisibleby" {
                guard case .integer(let d) = other, d != 0 else { throw .typeMismatch("divisibleby needs a non-zero integer", line: line) }
                return i % d == 0
            }
            return (i % 2 != 0) == (name == "odd")
        case "lower", "upper":
            let s = value.pythonString
            return name == "lower" ? s.lowercased() == s && s.uppercased() != s : s.uppercased() == s && s.lowercased() != s
        default: throw .unsupported("test '\(name)'", line: line)
        }
    }

    /// Python's `json.dumps(value, ensure_ascii=False, …)`, as transformers' `tojson` filter.
    private static func json(_ value: TemplateValue, indent: Int?, level: Int, itemSeparator: String, keySeparator: String, sortKeys: Bool, into out: inout String, line: Int) throws(TemplateProblem) {
        func newline(_ depth: Int) -> String { indent.map { "\n" + String(repeating: " ", count: $0 * depth) } ?? "" }
        switch value.plain {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .integer(let i): out += String(i)
        case .double(let d): out += d.isNaN ? "NaN" : d.isInfinite ? (d < 0 ? "-Infinity" : "Infinity") : TemplateValue.pythonFloat(d)
        case .string(let s):
            out += "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\u{08}": out += "\\b"
                case "\u{0C}": out += "\\f"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default: out.unicodeScalars.append(scalar)
                }
            }
            out += "\""
        case .list(let items), .tuple(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                out += (i > 0 ? itemSeparator : "") + newline(level + 1)
                try json(item, indent: indent, level: level + 1, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys, into: &out, line: line)
            }
            out += newline(level) + "]"
        case .dictionary(let members):
            if members.isEmpty { out += "{}"; return }
            // json.dumps writes number, boolean and None keys as strings.
            var keyed: [(String, TemplateValue)] = []
            for (key, item) in members {
                switch key {
                case .string(let s): keyed.append((s, item))
                case .integer, .double: keyed.append((key.pythonString, item))
                case .bool(let b): keyed.append((b ? "true" : "false", item))
                case .none: keyed.append(("null", item))
                default: throw .typeMismatch("keys must be str, int, float, bool or None, not \(key.typeName)", line: line)
                }
            }
            let ordered = sortKeys ? keyed.sorted { $0.0.unicodeScalars.map(\.value).lexicographicallyPrecedes($1.0.unicodeScalars.map(\.value)) } : keyed
            out += "{"
            for (i, (key, item)) in ordered.enumerated() {
                out += (i > 0 ? itemSeparator : "") + newline(level + 1)
                try json(.string(key), indent: nil, level: 0, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys, into: &out, line: line)
                out += keySeparator
                try json(item, indent: indent, level: level + 1, itemSeparator: itemSeparator, keySeparator: keySeparator, sortKeys: sortKeys, into: &out, line: line)
            }
            out += newline(level) + "}"
        case .undefined, .namespace, .function, .macro, .generator, .markup:
            throw .typeMismatch("object of type \(value.typeName) is not JSON serializable", line: line)
        }
    }
}

/// The render's allocation budget, shared by value so that non-mutating helpers can charge it.
private final class AllocationBox {
    var budget: AllocationBudget
    init(_ budget: AllocationBudget) { self.budget = budget }
}
