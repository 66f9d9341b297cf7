import EAH
import EAHCheckpoint
import EAHFrontEnd
import EAHTestSupport
import Foundation
import Testing

/// What calibration reports record, what `--merge` refuses, and the heatmap as a viewer renders it.
@Suite("calibration reports, merges and the heatmap")
struct CalibrationReportTests {
    /// Two layers of 32 heads over 20 image tokens: layer 0 with zero cells and no density of
    /// exactly 0.5, layer 1 saturated (every head's density 1).
    static func report() -> CalibrationReport {
        var statistics = CalibrationStatistics(layers: [0, 1], headCount: 32)
        let spread = (0..<32).map { head in head % 3 == 0 ? 0 : (head * 7 % 20 == 10 ? 11 : head * 7 % 20) }
        statistics.add(counts: [spread, [Int](repeating: 20, count: 32)], imageTokens: 20)
        return CalibrationReport(toolVersion: "test", modelLayout: "llava-hf", modelPath: "m", modelDigest: "ab", beta: 0.002,
                                 dataDigests: ["d"], shards: [], statistics: statistics)
    }

    @Test("a layer where every head is above 0.9 density is reported as saturated")
    func saturationWarning() {
        let report = Self.report()
        #expect(report.saturatedLayers == [1])
        #expect(report.warnings == ["β = 0.002 saturates layer 1: every head's sink density is above 0.9, so its head is chosen by the tie-break; raise --beta"])
        #expect(report.json["warnings"] == .array(report.warnings.map(JSONValue.string)))
    }

    @Test("rsvg-convert renders the heatmap at its declared size with the legend inside")
    func rendered() throws {
        let directory = TemporaryDirectory()
        let report = Self.report()
        let svg = CalibrationHeatmap.svg(report)
        let svgPath = directory.write("heatmap.svg", Array(svg.utf8)), pngPath = directory.file("heatmap.png")
        let render = try CommandRunner.run(executable: "/usr/bin/rsvg-convert", ["-o", pngPath, svgPath])
        #expect(render.status == 0, "rsvg-convert (tools/setup-system.sh installs librsvg2-bin): \(render.stderr)")
        let image = try ImageDecoder().decode(path: pngPath)
        let declared = try #require(svg.firstMatch(of: /width="(\d+)" height="(\d+)"/))
        #expect(image.width == Int(declared.1) && image.height == Int(declared.2))
        // 32 heads of 18 px after the row labels: the grid alone needs more than 32 × 18 px.
        #expect(image.width > 32 * 18 + 60)
        func pixel(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
            let offset = (y * image.width + x) * 3
            return (image.pixels[offset], image.pixels[offset + 1], image.pixels[offset + 2])
        }
        // The legend's middle swatch (density 0.5, a colour no cell has) is drawn inside the picture.
        let middle = (UInt8(144), UInt8(167), UInt8(215))  // CalibrationHeatmap.color(0.5): 255 − 0.5 × (222, 175, 80), truncated
        var legend: (x: Int, y: Int)?
        for y in 0..<image.height { for x in 0..<image.width where legend == nil && pixel(x, y) == middle { legend = (x, y) } }
        let found = try #require(legend, "the legend's 0.5 swatch is not in the rendered picture")
        // Below the grid: the saturated layer's cells (density 1, the darkest colour) start a cell higher at least.
        let darkest = (UInt8(33), UInt8(80), UInt8(175))
        let firstDarkRow = try #require((0..<image.height).first { y in (0..<image.width).contains { pixel($0, y) == darkest } })
        #expect(found.y > firstDarkRow + 18)
        // Nothing is cut at the right or bottom edge: the outermost row and column are background.
        #expect((0..<image.height).allSatisfy { pixel(image.width - 1, $0) == (255, 255, 255) })
        #expect((0..<image.width).allSatisfy { pixel($0, image.height - 1) == (255, 255, 255) })
    }

    @Test("samples of different image sizes: each counts by its own image tokens, and the title says the range")
    func differentImageSizes() {
        var statistics = CalibrationStatistics(layers: [0], headCount: 2)
        // Head 0 sinks on 10 of 20 tokens and on 50 of 100: density 0.5 in both, whatever the size.
        statistics.add(counts: [[10, 2]], imageTokens: 20, sample: 0)
        statistics.add(counts: [[50, 0]], imageTokens: 100, sample: 1)
        let report = CalibrationReport(toolVersion: "test", modelLayout: "qwen2-vl-hf", modelPath: "m", modelDigest: "ab", beta: 0.002,
                                       dataDigests: ["d"], shards: [], statistics: statistics)
        #expect(report.statistics.summary.first?.sinkDensity == [0.5, 0.05])
        #expect(CalibrationHeatmap.svg(report).contains("(β = 0.002, 2 samples, 20–100 image tokens per sample)"))
        #expect(!CalibrationHeatmap.svg(Self.report()).contains("image tokens per sample"))
    }

    @Test("the heatmap numbers heads, labels layers, marks the chosen head, shows zero cells and warns")
    func annotated() {
        let svg = CalibrationHeatmap.svg(Self.report())
        #expect(svg.contains(">head →</text>") && svg.contains(">layer ↓</text>"))
        #expect(svg.contains("text-anchor=\"middle\">0</text>") && svg.contains("text-anchor=\"middle\">31</text>"))
        #expect(svg.contains(">layer 0</text>") && svg.contains(">layer 1</text>"))
        // Head 0 of layer 0 has density 0: white, with a visible border.
        #expect(svg.contains("fill=\"#ffffff\" stroke=\"#9a9a9a\" stroke-width=\"0.5\"><title>layer 0 head 0: density 0.0"))
        #expect(svg.contains("stroke=\"#d62728\" stroke-width=\"2\"/>"))
        #expect(svg.contains("warning: β = 0.002 saturates layer 1"))
    }

    static func write(_ report: CalibrationReport, _ name: String, in directory: TemporaryDirectory) -> String {
        directory.write(name, Array(report.json.pretty.utf8))
    }

    @Test("--merge refuses the same shard twice, overlapping shards and another model's report")
    func mergeRefusals() throws {
        let directory = TemporaryDirectory()
        var base = Self.report()
        base.shards = ["0/2"]
        let first = Self.write(base, "a.json", in: directory)
        func merge(_ paths: [String]) throws -> CommandRunner.Result {
            try CommandRunner.run("eah-convert", ["calibrate", "--merge"] + paths + ["-o", directory.file("merged.json"), "--force"])
        }
        let twice = try merge([first, Self.write(base, "b.json", in: directory)])
        #expect(twice.status == 1)
        #expect(twice.stderr == "eah-convert: \(directory.file("b.json")): cannot be merged: shard 0/2 is also in \(first) (samples would count twice); merge the disjoint shards of one calibration run (same model, --beta and --layers), each once\n")
        var quarter = base
        quarter.shards = ["2/4"]
        let overlap = try merge([first, Self.write(quarter, "c.json", in: directory)])
        #expect(overlap.status == 1)
        #expect(overlap.stderr.contains("cannot be merged: shard 2/4 overlaps shard 0/2 of \(first)"))
        var other = base
        other.shards = ["1/2"]
        other.modelDigest = "cd"
        let model = try merge([first, Self.write(other, "d.json", in: directory)])
        #expect(model.status == 1)
        #expect(model.stderr.contains("cannot be merged: it measured another model (digest cd…, \(first) has ab…)"))
        var second = base
        second.shards = ["1/2"]
        let good = try merge([first, Self.write(second, "e.json", in: directory)])
        #expect(good.status == 0, "\(good.stderr)")
        // The saturated layer is warned about on the terminal too, and the merged report is pretty-printed.
        #expect(good.stderr.contains("eah-convert: warning: β = 0.002 saturates layer 1"))
        let merged = try String(contentsOfFile: directory.file("merged.json"), encoding: .utf8)
        #expect(merged.hasPrefix("{\n  \"schema\": 1,\n  \"kind\": \"eah-calibration-report\",\n"))
        let parsed = try JSONParser.parse(merged)
        #expect(parsed["model"]?["digest"] == .string("ab"))
        #expect(parsed["shards"] == .array([.string("0/2"), .string("1/2")]))
    }
}
