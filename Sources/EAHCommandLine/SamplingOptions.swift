import ArgumentParser
import EAHCheckpoint
import EAHModel

/// How `eah-run` picks tokens, with llama.cpp's spellings (`--temp`, `-s`) beside the long ones.
/// Greedy unless `--temperature` is above 0; the options that only shape sampling are refused
/// without it (`refuseUnused`), and a sampling run without `--seed` draws one (reported by `--json`).
public struct SamplingOptions: ParsableArguments {
    @Option(name: [.customLong("temperature"), .customLong("temp")], help: "Sampling temperature (0: greedy).")
    public var temperature: Float = 0

    @Option(help: "Nucleus sampling threshold in (0, 1] (default: 1, all tokens).")
    public var topP: Float?

    @Option(help: "Sample among the K most likely tokens (default: 0, all).")
    public var topK: Int?

    @Option(help: "Drop tokens less likely than P times the most likely one (default: 0).")
    public var minP: Float?

    @Option(help: "Repetition penalty (transformers') on the tokens generated so far (default: 1, none); greedy runs too.")
    public var repeatPenalty: Float?

    @Option(name: .shortAndLong, help: "Seed for sampling (default: a random one, reported by --json).")
    public var seed: UInt64?

    public init() {}

    public func validate() throws {
        if !(temperature.isFinite && temperature >= 0) { throw ValidationError("--temperature must be a number, 0 or more") }
        if let topP, !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if let topK, topK < 0 { throw ValidationError("--top-k must be 0 or more") }
        if let minP, !(minP >= 0 && minP < 1) { throw ValidationError("--min-p must be in [0, 1)") }
        if let repeatPenalty, !(repeatPenalty.isFinite && repeatPenalty > 0) { throw ValidationError("--repeat-penalty must be above 0") }
    }

    /// Refuses the options that only shape sampling when decoding is greedy (not for `--serve`,
    /// where they are the defaults of requests that may sample).
    public func refuseUnused() throws {
        if temperature == 0, topP != nil || topK != nil || minP != nil || seed != nil {
            throw ValidationError("--top-p, --top-k, --min-p and --seed shape sampling, and decoding is greedy: add --temperature above 0 or drop them")
        }
    }

    /// Whether tokens are sampled (not greedy).
    public var samples: Bool { temperature > 0 }

    /// The seed of this run: `--seed`, or one drawn once per process when sampling.
    public var effectiveSeed: UInt64 { seed ?? (samples ? Self.drawnSeed : 0) }

    private static let drawnSeed = UInt64.random(in: 0...UInt64.max)

    public var parameters: SamplingParameters {
        SamplingParameters(temperature: temperature, topP: topP ?? 1, topK: topK ?? 0, minP: minP ?? 0, repeatPenalty: repeatPenalty ?? 1,
                           seed: effectiveSeed)
    }

    /// The settings as JSON members, for `--json` and evaluation results.
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [("temperature", Self.number(temperature))]
        if samples {
            members += [("top_p", Self.number(topP ?? 1)), ("top_k", .integer(topK ?? 0)), ("min_p", Self.number(minP ?? 0)),
                        ("seed", JSONValue.unsigned(effectiveSeed))]
        }
        members.append(("repeat_penalty", Self.number(repeatPenalty ?? 1)))
        return .object(members)
    }

    /// A Float as the decimal the user typed (0.7, not 0.699999988).
    static func number(_ value: Float) -> JSONValue {
        .number(Double(String(value)) ?? Double(value))
    }
}

extension JSONValue {
    /// An unsigned 64-bit value: an integer when it fits, else its decimal text (JSON readers
    /// lose precision on integers above 2^53 anyway).
    public static func unsigned(_ value: UInt64) -> JSONValue {
        Int(exactly: value).map(JSONValue.integer) ?? .string(String(value))
    }
}
