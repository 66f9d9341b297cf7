import EAHTestSupport
import Foundation
import Testing

/// `convert --to gguf` writes llama.cpp's text model and its mmproj as a pair: both appear, or
/// neither does, whatever stops the run between the two files. Checked as FaultTests and
/// InterruptionTests check every command: a real file system that fills up after the text model
/// (in a private mount namespace), and real processes killed with SIGINT/SIGTERM at random moments.
@Suite("llama.cpp layout: the text model and its mmproj appear together or not at all", .serialized)
struct LlamaCppPairTests {
    static let model = LlamaCppExportTests.model
    /// The f16 text model of demo-llava is about 1.99 MB and its mmproj 0.79 MB: a 2400 KiB tmpfs
    /// holds the first and fills up while the second is written.
    static let fillsUpAfterText = "size=2400k"

    /// Runs `convert MODEL --dtype f16 -o FOLDER/out.gguf --force` on a tmpfs of `options` at
    /// `folder`, where an earlier pair (`old` in each file) is put first when `earlier`; returns
    /// the result, the folder's listing and the first bytes of each output afterwards.
    static func runOnTmpfs(folder: String, options: String, earlier: Bool) throws -> (CommandRunner.Result, [String], text: String, mmproj: String) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let report = folder + ".after"
        let script = """
            dir=$1 options=$2 earlier=$3 report=$4; shift 4
            mount -t tmpfs -o "$options" eah-fault "$dir" || exit 97
            if [ "$earlier" = 1 ]; then echo old > "$dir/out.gguf"; echo old > "$dir/mmproj-out.gguf"; fi
            "$@"; status=$?
            { ls -A "$dir"; echo --; head -c 4 "$dir/out.gguf" 2>/dev/null; echo; echo --; head -c 4 "$dir/mmproj-out.gguf" 2>/dev/null; echo; } > "$report"
            exit $status
            """
        let result = try CommandRunner.run(executable: "/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh",
                                                                           folder, options, earlier ? "1" : "0", report,
                                                                           CommandRunner.productsFolder + "/eah-convert", "convert", model,
                                                                           "--dtype", "f16", "-o", folder + "/out.gguf", "--force"])
        let parts = ((try? String(contentsOfFile: report, encoding: .utf8)) ?? "").components(separatedBy: "--\n")
        let listing = parts.first?.split(separator: "\n").map(String.init) ?? []
        func head(_ index: Int) -> String { parts.count > index ? parts[index].trimmingCharacters(in: .newlines) : "?" }
        return (result, listing, head(1), head(2))
    }

    @Test("the file system fills up while the mmproj is written: one line naming it, exit 1, and the earlier pair (or nothing) left as it was",
          .enabled(if: FaultMounts.available, "needs mount namespaces (unshare -m, mount -t tmpfs)"), arguments: [false, true])
    func fillsUpBetweenTheFiles(earlier: Bool) throws {
        let scratch = TemporaryDirectory()
        let folder = scratch.file("mount")
        let (result, listing, text, mmproj) = try Self.runOnTmpfs(folder: folder, options: Self.fillsUpAfterText, earlier: earlier)
        #expect(result.status == 1, "exit \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("eah-convert: \(folder)/mmproj-out.gguf: cannot be written (No space left on device)"), "\(result.stderr)")
        #expect(!result.stderr.contains(".partial-"), "names a temporary path: \(result.stderr)")
        if earlier {
            // The new text model was complete, but it did not replace the earlier one alone.
            #expect(listing == ["mmproj-out.gguf", "out.gguf"], "left \(listing)")
            #expect(text == "old" && mmproj == "old", "the earlier pair changed: text \(text.debugDescription), mmproj \(mmproj.debugDescription)")
        } else {
            #expect(listing.isEmpty, "left \(listing)")
        }
        // With room for both, the same run writes the pair.
        let (fits, written, newText, newMMProj) = try Self.runOnTmpfs(folder: scratch.file("roomy"), options: "size=8m", earlier: earlier)
        #expect(fits.status == 0, "\(fits.stderr)")
        #expect(written == ["mmproj-out.gguf", "out.gguf"] && newText == "GGUF" && newMMProj == "GGUF", "\(written) \(newText) \(newMMProj)")
    }

    @Test("killed at random moments: never one file of the pair without the other, nothing partial")
    func killedAtRandomMoments() throws {
        let directory = TemporaryDirectory()
        let reference = directory.file("reference.gguf")
        let arguments = { (output: String) in ["convert", Self.model, "--dtype", "f16", "-o", output] }
        var finished: CommandRunner.Result?
        let first = try InterruptionTests.seconds { finished = try CommandRunner.run("eah-convert", arguments(reference)) }
        #expect(finished?.status == 0, "\(finished?.stderr ?? "")")
        let duration = min(first, try InterruptionTests.seconds { finished = try CommandRunner.run("eah-convert", arguments(reference) + ["--force"]) })
        let complete = [InterruptionTests.snapshot(reference), InterruptionTests.snapshot(directory.file("mmproj-reference.gguf"))]
        var generator = SplitMix64(seed: InterruptionTests.seed &+ 12)
        var killedMidway = 0
        let trials = max(InterruptionTests.trials, 12)
        for trial in 0..<trials {
            let signal = trial % 2 == 0 ? SIGINT : SIGTERM
            let delay = trial == 0 ? duration * 0.5 : Double(generator.next() % 1000) / 1000 * duration * 1.2
            let replacing = trial % 4 >= 2
            let output = directory.file("out\(trial).gguf"), mmproj = directory.file("mmproj-out\(trial).gguf")
            if replacing {
                directory.write("out\(trial).gguf", Array("an earlier text model\n".utf8))
                directory.write("mmproj-out\(trial).gguf", Array("an earlier mmproj\n".utf8))
            }
            let before = [InterruptionTests.snapshot(output), InterruptionTests.snapshot(mmproj)]
            let status = try InterruptionTests.runKilled(arguments(output) + (replacing ? ["--force"] : []), after: delay, signal: signal)
            if status != 0 { killedMidway += 1 }
            let context = "trial \(trial), seed \(InterruptionTests.seed), signal \(signal), after \(delay) s, exit \(status)"
            #expect(InterruptionTests.leftovers(directory.path).isEmpty, "\(context): \(InterruptionTests.leftovers(directory.path))")
            let after = [InterruptionTests.snapshot(output), InterruptionTests.snapshot(mmproj)]
            if status == 0 {
                #expect(after == complete, "\(context): a finished run's pair differs")
            } else {
                // Killed: the pair as it was, or the new pair whole; never the new text model with
                // anything but its own mmproj.
                #expect(after == before || after == complete || (after[0] == before[0] && after[1].isEmpty), "\(context): \(after.map { $0.keys.sorted() })")
                #expect(after[0] != complete[0] || after[1] == complete[1], "\(context): the new text model without its mmproj")
            }
        }
        #expect(killedMidway > 0, "no trial interrupted the command (run time \(duration) s)")
    }
}
