import EAHCheckpoint
import EAHCore
@testable import EAHModel
import EAHTestSupport
import Testing

/// The shared decoder blocks against transformers (tools/make_decoder_fixtures.py).
@Suite struct DecoderBlockTests {
    static func json(_ name: String) throws -> JSONValue {
        try JSONParser.parse(Array(try String(contentsOfFile: Fixtures.path("decoder/" + name), encoding: .utf8).utf8))
    }

    static func floats(_ value: JSONValue?) -> [Float] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { item -> Float? in
            if case .number(let v) = item { return Float(v) }
            if case .integer(let v) = item { return Float(v) }
            return nil
        }
    }

    static func int(_ value: JSONValue?) -> Int {
        if case .integer(let v)? = value { return v }
        return -1
    }

    /// Partial rotary factors rotate the first `headDim·factor` values of every head (Phi-3's
    /// rotate-half, GLM's interleaved), at non-contiguous position ids.
    @Test func ropeMatchesTransformersForPartialAndInterleaved() throws {
        guard case .array(let cases)? = try Self.json("rope_apply.json")["cases"] else { Issue.record("rope_apply.json"); return }
        #expect(cases.count == 4)
        for item in cases {
            guard case .string(let name)? = item["name"], case .string(let style)? = item["style"],
                  case .number(let partial)? = item["partial_rotary_factor"], case .array(let positionValues)? = item["positions"] else {
                Issue.record("bad case"); continue
            }
            let heads = Self.int(item["heads"]), headDim = Self.int(item["head_dim"])
            let positions = positionValues.map { Self.int($0) }
            let rope = RopeParameters(theta: 10000, extra: ["partial_rotary_factor": partial])
            let (inverse, scaling) = RotaryEmbedding.parameters(rope, headDim: headDim, maxPositionEmbeddings: 4096)
            let table = RopeTable(inverseFrequencies: inverse, attentionScaling: scaling, positions: positions,
                                  style: style == "interleaved" ? .interleaved : .rotateHalf)
            var x = Self.floats(item["input"])
            let expected = Self.floats(item["output"])
            #expect(x.count == positions.count * heads * headDim)
            x.withUnsafeMutableBufferPointer { table.apply($0.baseAddress!, rows: positions.count, heads: heads, headDim: headDim, rowStride: heads * headDim) }
            let worst = zip(x, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
            #expect(worst <= 1e-5, "\(name): worst relative error \(worst)")
        }
    }

    /// A sliding window hides keys `window` or more positions back, for a query block that
    /// continues a cache, with grouped KV heads.
    @Test func slidingWindowMatchesTransformers() throws {
        let item = try Self.json("sliding_window.json")
        let window = Self.int(item["window"]), heads = Self.int(item["heads"]), kvHeads = Self.int(item["kv_heads"])
        let headDim = Self.int(item["head_dim"]), keys = Self.int(item["keys"]), queries = Self.int(item["queries"])
        let q = Self.floats(item["q"]), k = Self.floats(item["k"]), v = Self.floats(item["v"])
        let expected = Self.floats(item["output"])
        var output = [Float](repeating: .nan, count: queries * heads * headDim)
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    output.withUnsafeMutableBufferPointer { out in
                        MultiHeadAttention.compute(
                            queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                            shape: .init(queryCount: queries, keyCount: keys, headCount: heads, kvHeadCount: kvHeads, headDim: headDim),
                            scale: 1 / Float(headDim).squareRoot(), causalStart: keys - queries, window: window, hook: nil, context: nil,
                            output: out.baseAddress!, pool: .shared)
                    }
                }
            }
        }
        #expect(expected.count == output.count)
        let worst = zip(output, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        #expect(worst <= 1e-5, "worst relative error \(worst)")
    }

    /// Records the column sums it is given and names a head to broadcast.
    final class ColumnSumHook: AttentionHook {
        let columns: [Int], source: Int
        var received: AttentionColumnSums?
        init(columns: [Int], source: Int) { self.columns = columns; self.source = source }
        func plan(for context: AttentionContext) -> AttentionPlan? { AttentionPlan(countedColumns: columns) }
        func columnSums(_ sums: AttentionColumnSums, context: AttentionContext) -> Int? {
            received = sums
            return source
        }
    }

    /// A prefill longer than two attention row blocks: outputs, the sink rule's column sums and
    /// a broadcast head's map over every head equal transformers' eager attention.
    @Test func rowBlocksColumnSumsAndBroadcastMatchTransformers() throws {
        let item = try Self.json("attention_blocks.json")
        let rows = Self.int(item["rows"]), heads = Self.int(item["heads"]), kvHeads = Self.int(item["kv_heads"]), headDim = Self.int(item["head_dim"])
        #expect(rows > 2 * MultiHeadAttention.rowBlock)
        guard case .array(let columnValues)? = item["columns"] else { Issue.record("columns"); return }
        let columns = columnValues.map { Self.int($0) }, source = Self.int(item["source"])
        let q = Self.floats(item["q"]), k = Self.floats(item["k"]), v = Self.floats(item["v"])
        func run(_ hook: AttentionHook?) -> [Float] {
            var output = [Float](repeating: .nan, count: rows * heads * headDim)
            let context = AttentionContext(layer: 0, phase: .prefill, queryStart: 0, imagePositions: columns, queriesPerKVHead: heads / kvHeads)
            q.withUnsafeBufferPointer { q in
                k.withUnsafeBufferPointer { k in
                    v.withUnsafeBufferPointer { v in
                        output.withUnsafeMutableBufferPointer { out in
                            MultiHeadAttention.compute(
                                queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                                shape: .init(queryCount: rows, keyCount: rows, headCount: heads, kvHeadCount: kvHeads, headDim: headDim),
                                scale: 1 / Float(headDim).squareRoot(), causalStart: 0, hook: hook, context: context,
                                output: out.baseAddress!, pool: .shared)
                        }
                    }
                }
            }
            return output
        }
        func worst(_ got: [Float], _ want: [Float]) -> Float {
            got.count == want.count ? zip(got, want).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
        }
        #expect(worst(run(nil), Self.floats(item["output"])) <= 1e-5)
        let hook = ColumnSumHook(columns: columns, source: source)
        #expect(worst(run(hook), Self.floats(item["broadcast_output"])) <= 1e-5)
        let sums = try #require(hook.received)
        let expected = Self.floats(item["column_sums"])
        #expect(sums.rowsAfter == columns.map { rows - 1 - $0 })
        #expect(worst(sums.sums.map(Float.init), expected) <= 1e-5)
    }

    /// A later turn's prefill (query rows start after cached positions) counts every row after
    /// an image column: its sums and row counts equal the rows of a whole prefill that follow the
    /// cached ones.
    @Test func laterPrefillCountsRowsByPosition() throws {
        let item = try Self.json("attention_blocks.json")
        let rows = Self.int(item["rows"]), heads = Self.int(item["heads"]), kvHeads = Self.int(item["kv_heads"]), headDim = Self.int(item["head_dim"])
        let q = Self.floats(item["q"]), k = Self.floats(item["k"]), v = Self.floats(item["v"])
        let cached = rows - 3, columns = [cached - 2, cached + 1]
        func sums(from start: Int) throws -> AttentionColumnSums {
            let hook = ColumnSumHook(columns: columns, source: 0)
            let count = rows - start
            var output = [Float](repeating: .nan, count: count * heads * headDim)
            let context = AttentionContext(layer: 0, phase: .prefill, queryStart: start, imagePositions: columns, queriesPerKVHead: heads / kvHeads)
            q.withUnsafeBufferPointer { q in
                k.withUnsafeBufferPointer { k in
                    v.withUnsafeBufferPointer { v in
                        output.withUnsafeMutableBufferPointer { out in
                            MultiHeadAttention.compute(
                                queries: q.baseAddress! + start * heads * headDim, keys: k.baseAddress!, values: v.baseAddress!,
                                shape: .init(queryCount: count, keyCount: rows, headCount: heads, kvHeadCount: kvHeads, headDim: headDim),
                                scale: 1 / Float(headDim).squareRoot(), causalStart: start, hook: hook, context: context,
                                output: out.baseAddress!, pool: .shared)
                        }
                    }
                }
            }
            return try #require(hook.received)
        }
        let later = try sums(from: cached)
        // Column cached-2 lies in the cache: all three new rows follow it; column cached+1: one.
        #expect(later.rowsAfter == [3, 1])
        // The whole prefill's sum for the column after the cache covers the same single row.
        let whole = try sums(from: 0)
        for head in 0..<heads {
            #expect(abs(later.sum(head: head, column: 1) - whole.sum(head: head, column: 1)) <= 1e-6)
            #expect(later.sum(head: head, column: 0) < whole.sum(head: head, column: 0))
        }
    }
}
