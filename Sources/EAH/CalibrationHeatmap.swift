/// A layers × heads heatmap of mean sink density as SVG, the chosen head of each layer outlined.
public enum CalibrationHeatmap {
    /// The SVG document for `report`.
    public static func svg(_ report: CalibrationReport) -> String {
        let summary = report.statistics.summary
        let heads = report.statistics.headCount
        let cell = 18, left = 70, top = 40, legend = 30
        let width = left + heads * cell + 20, height = top + summary.count * cell + legend + 30
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" font-family="sans-serif" font-size="11">
            <text x="\(left)" y="16">EAH calibration: mean sink density (β = \(report.beta), \(report.statistics.sampleCount) samples)</text>
            <text x="\(left)" y="32">heads →</text>

            """
        for (row, layer) in summary.enumerated() {
            let y = top + row * cell
            svg += "<text x=\"4\" y=\"\(y + 13)\">layer \(layer.layer)</text>\n"
            for head in 0..<heads {
                let density = max(0, min(1, layer.sinkDensity[head]))
                let x = left + head * cell
                let chosen = layer.chosenHead == head
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(color(density))\""
                    + (chosen ? " stroke=\"#d62728\" stroke-width=\"2\"" : " stroke=\"#ffffff\" stroke-width=\"0.5\"")
                    + "><title>layer \(layer.layer) head \(head): density \(rounded(density)), mean count \(rounded(layer.meanSinkCount[head])), wins \(rounded(layer.winFrequency[head]))</title></rect>\n"
            }
        }
        let legendY = top + summary.count * cell + 14
        for step in 0...10 {
            svg += "<rect x=\"\(left + step * 14)\" y=\"\(legendY)\" width=\"14\" height=\"10\" fill=\"\(color(Double(step) / 10))\"/>\n"
        }
        svg += "<text x=\"\(left)\" y=\"\(legendY + 24)\">0</text><text x=\"\(left + 140)\" y=\"\(legendY + 24)\">1</text>"
        svg += "<text x=\"\(left + 170)\" y=\"\(legendY + 10)\">red outline: chosen head</text>\n</svg>\n"
        return svg
    }

    /// White to dark blue.
    static func color(_ value: Double) -> String {
        let r = Int(255 - value * 222), g = Int(255 - value * 175), b = Int(255 - value * 80)
        func hex(_ v: Int) -> String { let s = String(max(0, min(255, v)), radix: 16); return s.count == 1 ? "0" + s : s }
        return "#" + hex(r) + hex(g) + hex(b)
    }

    static func rounded(_ value: Double) -> String {
        String(Double(Int((value * 1000).rounded())) / 1000)
    }
}
