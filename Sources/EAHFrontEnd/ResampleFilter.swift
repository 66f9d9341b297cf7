import EAHCore

/// Pillow's resampling filters for `Image.resize`, numbered as Pillow (and
/// `preprocessor_config.json`'s `resample`) number them. Nearest (0) is not supported.
public enum ResampleFilter: Int, Sendable, Equatable, CaseIterable {
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5

    /// Half the width of the filter's kernel, in source pixels at scale 1 (Pillow's `support`).
    public var support: Double {
        switch self {
        case .box: 0.5
        case .bilinear, .hamming: 1.0
        case .bicubic: 2.0
        case .lanczos: 3.0
        }
    }

    /// The kernel at `x`, as Pillow's `Resample.c` computes it.
    public func weight(_ x: Double) -> Double {
        switch self {
        case .box:
            return x > -0.5 && x <= 0.5 ? 1.0 : 0.0
        case .bilinear:
            let x = abs(x)
            return x < 1.0 ? 1.0 - x : 0.0
        case .hamming:
            var x = abs(x)
            if x == 0.0 { return 1.0 }
            if x >= 1.0 { return 0.0 }
            x *= Double.pi
            return sin(x) / x * (0.54 + 0.46 * cos(x))
        case .bicubic:
            let a = -0.5
            let x = abs(x)
            if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
            if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0.0
        case .lanczos:
            guard -3.0 <= x, x < 3.0 else { return 0.0 }
            return Self.sinc(x) * Self.sinc(x / 3)
        }
    }

    private static func sinc(_ x: Double) -> Double {
        if x == 0.0 { return 1.0 }
        let t = x * Double.pi
        return sin(t) / t
    }
}
