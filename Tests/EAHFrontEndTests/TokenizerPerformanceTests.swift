import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// Encoding is O(n log n): a 100 KB input takes about as long per byte as a 10 KB one.
@Suite struct TokenizerPerformanceTests {
    static func text(bytes: Int) -> String {
        var generator = SplitMix64(seed: 42)
        let words = ["the", "picture", "shows", "a", "dog", "near", "blue", "water", "12345", "数据", "😀", "\n", "  "]
        var text = ""
        while text.utf8.count < bytes { text += words[Int(generator.next() % UInt64(words.count))] + " " }
        return text
    }

    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    @Test func longInputsScaleLinearly() throws {
        let spm = try SentencePieceModelFile.load(path: Fixtures.path("tokenizer/tokenizer.model"))
        let hf = try TokenizerJSONFile.load(path: Fixtures.path("tokenizer/tokenizer.json"))
        let small = Self.text(bytes: 10_000)
        let large = Self.text(bytes: 100_000)
        for tokenizer in [spm, hf] as [any Tokenizer] {
            _ = tokenizer.encode(small)
            let smallTime = Self.seconds { _ = tokenizer.encode(small) }
            var ids: [Int] = []
            let largeTime = Self.seconds { ids = tokenizer.encode(large) }
            #expect(ids.count > 10_000)
            // Quadratic merging would take ~100× as long; allow generous noise (2 shared cores, debug build).
            #expect(largeTime < max(smallTime * 30, 0.5), "10 KB: \(smallTime) s, 100 KB: \(largeTime) s")
            #expect(try tokenizer.decode(ids).count > 50_000)
        }
    }
}
