import EAHCore

/// A one-line progress bar with rate and ETA, drawn on standard error only when it is a
/// terminal and `silenced` is off (`-q`); silent otherwise (pipes, CI logs). With `NO_COLOR`
/// set it redraws with a carriage return and blanks instead of the erase-line escape code.
public final class ProgressBar {
    /// Set once at startup by `-q`: no bar anywhere in the process.
    nonisolated(unsafe) public static var silenced = false

    /// What `done` and `total` count.
    public enum Unit: Sendable {
        case bytes
        /// Items with this plural name ("samples").
        case items(String)
    }

    private let label: String
    private let unit: Unit
    private let enabled: Bool
    private let plain = getenv("NO_COLOR").map { $0.pointee != 0 } ?? false
    private var drawnWidth = 0
    private let started: Double
    private var lastDraw: Double = 0

    public init(label: String, unit: Unit = .bytes) {
        self.label = label
        self.unit = unit
        enabled = isatty(STDERR_FILENO) == 1 && !Self.silenced
        started = Self.now()
    }

    /// Redraws at most ten times a second; `done` and `total` are in `unit`s.
    public func update(done: Int, total: Int) {
        guard enabled else { return }
        let now = Self.now()
        guard now - lastDraw >= 0.1 || done >= total else { return }
        lastDraw = now
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let elapsed = now - started
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let amounts: String
        switch unit {
        case .bytes: amounts = "\(Self.bytes(Double(done)))/\(Self.bytes(Double(total))) \(Self.bytes(rate))/s"
        case .items(let name): amounts = "\(done)/\(total) \(name) \(String(format1: rate))/s"
        }
        let text = "\(label) \(bar) \(Int(fraction * 100))% \(amounts) ETA \(Self.duration(eta))"
        let count = text.count
        let line = "\r" + text + (plain ? String(repeating: " ", count: max(0, drawnWidth - count)) : "\u{1b}[K")
        drawnWidth = count
        StandardStream.error.write(line)
    }

    /// Clears the bar's line.
    public func finish() {
        guard enabled else { return }
        StandardStream.error.write(plain ? "\r" + String(repeating: " ", count: drawnWidth) + "\r" : "\r\u{1b}[K")
    }

    static func bytes(_ value: Double) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var scaled = value, unit = 0
        while scaled >= 1000, unit < units.count - 1 { scaled /= 1000; unit += 1 }
        return unit == 0 ? "\(Int(scaled)) B" : String(format1: scaled) + " " + units[unit]
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--:--" }
        let total = Int(seconds.rounded())
        return total >= 3600 ? "\(total / 3600)h\(pad(total % 3600 / 60))m" : "\(pad(total / 60)):\(pad(total % 60))"
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

extension String {
    /// One decimal place, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
