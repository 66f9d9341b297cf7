import EAHCore
import Foundation
import Testing

/// SiLU, quick GELU and the softmax exponentials of every runnable kernel variant against float64 `exp`:
/// within 2 ulp of the exact value over the float range, exact at the edges (0, ∞, NaN).
@Suite struct ExponentialKernelTests {
    /// Inputs over the whole useful range, odd lengths (vector tails), and the edge values.
    static let inputs: [Float] = {
        var values: [Float] = [0, -0.0, 1, -1, 0.5, 88.5, 88.72, 88.73, 100, -87.3, -87.4, -100, -103.9, -104, -200, .infinity, -.infinity,
                               Float.leastNormalMagnitude, -Float.leastNormalMagnitude, 1e-20, -1e-20]
        var random = UInt64(7)
        for _ in 0..<4001 {
            random = random &* 6364136223846793005 &+ 1442695040888963407
            let unit = Double(random >> 11) / Double(1 << 53)
            values.append(Float(unit * 180 - 90))
        }
        for i in 0..<257 { values.append(Float(i) / 32 - 4) }
        return values
    }()

    /// |a − b| within `ulps` units in the last place of b (b finite and nonzero), or both equal.
    static func close(_ value: Float, _ exact: Double, ulps: Float = 2) -> Bool {
        let expected = Float(exact)
        if expected == 0 || !expected.isFinite { return value == expected || (expected == 0 && abs(value) < Float.leastNormalMagnitude) }
        return abs(value - expected) <= ulps * expected.ulp
    }

    @Test func expShiftedMatchesFloat64() {
        for kernels in KernelSet.runnable {
            for shift: Float in [0, 3.5, -2] {
                for length in [Self.inputs.count, 1, 15, 17] {
                    var values = Array(Self.inputs.prefix(length))
                    let sum = values.withUnsafeMutableBufferPointer { kernels.expShifted($0.baseAddress!, count: length, shift: shift) }
                    var exactSum = 0.0
                    for (index, input) in Self.inputs.prefix(length).enumerated() {
                        let exact = Foundation.exp(Double(input - shift))
                        exactSum += Double(Float(exact))
                        if !Self.close(values[index], exact) {
                            Issue.record("\(kernels.name): e^(\(input) − \(shift)) = \(values[index]), expected \(Float(exact))")
                            return
                        }
                    }
                    if exactSum.isFinite {
                        #expect(abs(Double(sum) - exactSum) <= 1e-5 * exactSum + 1e-30, "\(kernels.name): sum \(sum) vs \(exactSum)")
                    } else {
                        #expect(sum == .infinity, "\(kernels.name): sum \(sum)")
                    }
                }
            }
            var nan: [Float] = [.nan, 1]
            _ = nan.withUnsafeMutableBufferPointer { kernels.expShifted($0.baseAddress!, count: 2, shift: 0) }
            #expect(nan[0].isNaN, "\(kernels.name): e^NaN must stay NaN")
        }
    }

    /// SiLU (alpha 1) and quick GELU (alpha 1.702, with alpha·x rounded to float as float32
    /// code computes it).
    @Test(arguments: [Float(1), 1.702])
    func sigmoidGateMatchesFloat64(alpha: Float) {
        for kernels in KernelSet.runnable {
            for length in [Self.inputs.count, 1, 15, 17] {
                var values = Array(Self.inputs.prefix(length))
                values.withUnsafeMutableBufferPointer { kernels.sigmoidGate($0.baseAddress!, count: length, alpha: alpha) }
                for (index, input) in Self.inputs.prefix(length).enumerated() where input.isFinite {
                    let x = Double(input)
                    let exact = x / (1 + Foundation.exp(-Double(alpha * input)))
                    // x / (1 + e) rounds twice more than e alone: 3 ulp. Below x ≈ −88.7, e^−x
                    // overflows and the result is ±0 (as float32 `x / (1 + exp(−x))` gives, the
                    // exact value being under 1e−35).
                    let ok = Self.close(values[index], exact, ulps: 3) || (alpha * input < -88.7 && abs(Double(values[index]) - exact) < 1e-35)
                    if !ok {
                        Issue.record("\(kernels.name): gate(\(input), alpha \(alpha)) = \(values[index]), expected \(Float(exact))")
                        return
                    }
                }
            }
            var edges: [Float] = [.infinity, .nan, -.infinity]
            edges.withUnsafeMutableBufferPointer { kernels.sigmoidGate($0.baseAddress!, count: 3, alpha: alpha) }
            #expect(edges[0] == .infinity && edges[1].isNaN, "\(kernels.name): silu(∞) = \(edges[0]), silu(NaN) = \(edges[1])")
        }
    }
}
