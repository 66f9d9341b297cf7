/// A layers × heads heatmap of mean sink density as SVG: head numbers along the top, layers
/// down the left, the chosen head of each layer outlined in red and starred, cells of density 0
/// drawn white with a grey border (so they are visible), a colour legend below, and the
/// report's warnings (β saturating a layer) in red under the title. The picture is sized to
/// what it holds, text included.
public enum CalibrationHeatmap {
    /// Layout constants, in pixels.
    static let cell = 18, margin = 12, lineHeight = 16, legendStep = 14
    /// An upper bound of the width of one character at font size 11 (sans-serif).
    static let characterWidth = 7

    /// ", 64–1,024 image tokens each" when samples had images of different sizes (each sample's
    /// density is its count over its own image tokens, so the cells compare across sizes).
    static func imageTokenRange(_ report: CalibrationReport) -> String {
        let counts = report.statistics.imageTokensBySample.values
        guard let low = counts.min(), let high = counts.max(), low != high else { return "" }
        return ", \(low)–\(high) image tokens per sample"
    }

    /// The SVG document for `report`.
    public static func svg(_ report: CalibrationReport) -> String {
        let summary = report.statistics.summary
        let heads = report.statistics.headCount
        let title = "EAH calibration: mean sink density (β = \(report.beta), \(report.statistics.sampleCount) samples\(imageTokenRange(report)))"
        let warnings = report.warnings
        let rowLabels = summary.map { "layer \($0.layer)" }
        let left = margin + (rowLabels.map(\.count).max() ?? 5) * characterWidth + 8
        var y = margin + 11
        var body = "<text x=\"\(margin)\" y=\"\(y)\" font-weight=\"bold\">\(escape(title))</text>\n"
        for warning in warnings {
            y += lineHeight
            body += "<text x=\"\(margin)\" y=\"\(y)\" fill=\"#d62728\">warning: \(escape(warning))</text>\n"
        }
        // Axis title and head numbers.
        y += lineHeight + 4
        body += "<text x=\"\(left)\" y=\"\(y)\">head →</text><text x=\"\(margin)\" y=\"\(y)\">layer ↓</text>\n"
        y += lineHeight - 2
        for head in 0..<heads {
            body += "<text x=\"\(left + head * cell + cell / 2)\" y=\"\(y)\" font-size=\"9\" text-anchor=\"middle\">\(head)</text>\n"
        }
        let gridTop = y + 4
        for (row, layer) in summary.enumerated() {
            let top = gridTop + row * cell
            body += "<text x=\"\(margin)\" y=\"\(top + 13)\">\(rowLabels[row])</text>\n"
            for head in 0..<heads {
                let density = max(0, min(1, layer.sinkDensity[head]))
                let x = left + head * cell
                body += "<rect x=\"\(x)\" y=\"\(top)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"\(color(density))\" stroke=\"#9a9a9a\" stroke-width=\"0.5\">"
                    + "<title>layer \(layer.layer) head \(head): density \(rounded(density)), mean count \(rounded(layer.meanSinkCount[head])), wins \(rounded(layer.winFrequency[head]))</title></rect>\n"
            }
            if let chosen = layer.chosenHead {
                let x = left + chosen * cell
                body += "<rect x=\"\(x + 1)\" y=\"\(top + 1)\" width=\"\(cell - 2)\" height=\"\(cell - 2)\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\"/>"
                    + "<text x=\"\(x + cell / 2)\" y=\"\(top + 13)\" text-anchor=\"middle\" fill=\"#d62728\" font-weight=\"bold\">*</text>\n"
            }
        }
        // Legend: the colour scale from 0 to 1, then what the marks mean.
        var legendY = gridTop + summary.count * cell + 14
        body += "<text x=\"\(margin)\" y=\"\(legendY + 9)\">density</text>\n"
        let scaleLeft = margin + 8 * characterWidth
        for step in 0...10 {
            body += "<rect x=\"\(scaleLeft + step * legendStep)\" y=\"\(legendY)\" width=\"\(legendStep)\" height=\"10\" fill=\"\(color(Double(step) / 10))\" stroke=\"#9a9a9a\" stroke-width=\"0.5\"/>\n"
        }
        let scaleRight = scaleLeft + 11 * legendStep
        body += "<text x=\"\(scaleLeft)\" y=\"\(legendY + 22)\">0</text><text x=\"\(scaleRight)\" y=\"\(legendY + 22)\" text-anchor=\"end\">1</text>\n"
        legendY += 22 + lineHeight
        let marks = "red outline and *: the chosen head of the layer"
        body += "<text x=\"\(margin)\" y=\"\(legendY)\">\(marks)</text>\n"

        let textWidths = ([title] + warnings.map { "warning: " + $0 } + [marks]).map { margin + $0.count * characterWidth }
        let width = ([left + heads * cell, scaleRight] + textWidths).max()! + margin
        let height = legendY + margin
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="11">
            <rect width="\(width)" height="\(height)" fill="#ffffff"/>

            """ + body + "</svg>\n"
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

    /// Text with XML's special characters escaped.
    static func escape(_ text: String) -> String {
        var output = ""
        for character in text {
            switch character {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            default: output.append(character)
            }
        }
        return output
    }
}
