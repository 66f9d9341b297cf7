import EAHCore
import EAHCheckpoint

/// Where a run's time went, for `eah-run --json`: loading, the prompt (prefill, up to the first
/// token chosen) and decoding (each later token), and the process's peak resident memory.
public struct RunTimings: Sendable {
    private let start = RunTimings.now()
    private var loaded: Double?
    private var generationStart: Double?
    private var firstToken: Double?
    private var lastToken: Double?
    private var tokens = 0

    public init() {}

    /// The model (and its tokenizer) is loaded.
    public mutating func markLoaded() { loaded = Self.now() }
    /// Generation starts (prefill).
    public mutating func markGenerationStart() { generationStart = Self.now() }
    /// A token was chosen: the first ends the prefill, each later one a decode step.
    public mutating func markToken() {
        let time = Self.now()
        if firstToken == nil { firstToken = time }
        lastToken = time
        tokens += 1
    }

    /// `{"load_seconds", "prompt_tokens_per_second", "decode_tokens_per_second", "peak_rss_mib"}`;
    /// a rate is null when nothing was measured (no decode step after the first token).
    public func json(promptTokens: Int) -> JSONValue {
        let end = Self.now()
        let begin = generationStart ?? end
        let prefillEnd = firstToken ?? end
        func rate(_ count: Int, _ seconds: Double) -> JSONValue { count > 0 && seconds > 0 ? .number(Double(count) / seconds) : .null }
        return .object([
            ("load_seconds", .number((loaded ?? begin) - start)),
            ("prompt_tokens_per_second", rate(promptTokens, prefillEnd - begin)),
            ("decode_tokens_per_second", rate(tokens - 1, (lastToken ?? prefillEnd) - prefillEnd)),
            ("peak_rss_mib", .number(Self.peakResidentMiB())),
        ])
    }

    /// The process's peak resident set (`getrusage`'s `ru_maxrss`), in MiB.
    public static func peakResidentMiB() -> Double {
        Double(peakResidentSetBytes() ?? 0) / 1_048_576
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
