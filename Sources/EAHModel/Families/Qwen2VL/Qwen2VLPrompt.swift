/// A Qwen2-VL prompt: token ids with each image's `<|image_pad|>` run expanded to its merged
/// feature count, the image layout, and M-RoPE position ids (time, height, width rows) computed
/// as transformers' `get_rope_index`, kept apart from the KV-cache index.
public struct Qwen2VLPrompt: Sendable, Equatable {
    public let tokens: [Int]
    /// The `<|image_pad|>` positions: EAH's image columns.
    public let image: ImageLayout
    /// Each image's patch grid, in order.
    public let grids: [PatchGrid]
    /// Three rows (time, height, width) of `tokens.count` ids.
    public let positionRows: [[Int]]

    /// Expands each `<|image_pad|>` of `ids` (one per image, as the chat template renders it)
    /// to `t·(h/m)·(w/m)` copies for the matching grid, as `Qwen2VLProcessor` does. Ids already
    /// expanded (a run of exactly that many) are kept. Other ids must lie in `0..<vocabSize`.
    public static func make(ids: [Int], grids: [PatchGrid], config: Qwen2VLConfig) throws(ModelProblem) -> Qwen2VLPrompt {
        let pad = config.imageTokenID, m = config.vision.mergeSize
        var tokens: [Int] = []
        var runs: [ImageLayout.Run] = []
        var index = 0, image = 0
        while index < ids.count {
            let id = ids[index]
            guard id == pad else {
                guard (0..<config.text.vocabSize).contains(id) else {
                    throw .badInput("token id \(id) at position \(index) is outside the vocabulary (0..<\(config.text.vocabSize))")
                }
                tokens.append(id)
                index += 1
                continue
            }
            var end = index
            while end < ids.count, ids[end] == pad { end += 1 }
            guard image < grids.count else {
                throw .badInput("the ids hold more <|image_pad|> runs than images (\(grids.count))")
            }
            let grid = grids[image]
            guard grid.h % m == 0, grid.w % m == 0 else {
                throw .badInput("image \(image)'s grid \(grid.h)×\(grid.w) is not a multiple of the merge size \(m)")
            }
            let count = grid.t * (grid.h / m) * (grid.w / m)
            guard end - index == 1 || end - index == count else {
                throw .badInput("image \(image) needs one <|image_pad|> or \(count), found a run of \(end - index)")
            }
            runs.append(ImageLayout.Run(start: tokens.count, kinds: [ImagePositionKind](repeating: .base, count: count)))
            tokens += [Int](repeating: pad, count: count)
            image += 1
            index = end
        }
        guard image == grids.count else { throw .badInput("\(grids.count) images but \(image) <|image_pad|> runs in the ids") }
        let prompt = Qwen2VLPrompt(tokens: tokens, image: ImageLayout(runs: runs), grids: grids,
                                   positionRows: ropeIndex(tokenCount: tokens.count, runs: runs, grids: grids, mergeSize: m))
        let context = config.text.rope.maxPositionEmbeddings
        guard prompt.tokens.count <= context, prompt.nextPositionID <= context else {
            throw .badInput("the prompt needs \(prompt.tokens.count) tokens (\(prompt.image.count) for the image) and positions up to \(prompt.nextPositionID - 1), "
                            + "but the model's context is \(context) (max_position_embeddings); use a smaller image or lower the processor's max_pixels")
        }
        return prompt
    }

    /// transformers' `get_rope_index` for images: text counts on from the current position on
    /// all three rows; an image starting at current position `s` gets `(s, s + row, s + col)`
    /// per merged feature (row-major), and text after it resumes at `s + max(h, w) / merge`.
    static func ropeIndex(tokenCount: Int, runs: [ImageLayout.Run], grids: [PatchGrid], mergeSize m: Int) -> [[Int]] {
        var rows = [[Int]](repeating: [], count: Qwen2VLConfig.positionRows)
        var current = 0, position = 0
        func text(until end: Int) {
            while position < end {
                for r in 0..<rows.count { rows[r].append(current) }
                current += 1
                position += 1
            }
        }
        for (run, grid) in zip(runs, grids) {
            text(until: run.start)
            let gh = grid.h / m, gw = grid.w / m
            for t in 0..<grid.t {
                for r in 0..<gh {
                    for c in 0..<gw {
                        rows[0].append(current + t)
                        rows[1].append(current + r)
                        rows[2].append(current + c)
                    }
                }
            }
            position += grid.t * gh * gw
            current += max(grid.h, grid.w) / m
        }
        text(until: tokenCount)
        return rows
    }

    /// The prompt as the family-agnostic interface carries it.
    public var input: ModelInput { ModelInput(tokens: tokens, image: image, positionRows: positionRows) }

    /// Positions that hold image features, ascending.
    public var imagePositions: [Int] { image.positions }

    /// The position id of the first generated token (all rows): one past the largest id, as
    /// transformers' `rope_deltas` continue decoding.
    public var nextPositionID: Int { (positionRows.flatMap { $0 }.max() ?? -1) + 1 }
}
