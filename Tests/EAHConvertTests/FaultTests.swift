import EAHTestSupport
import Foundation
import Testing

/// Issue 14, Deliver 4: a full disk and a read-only destination give one-line errors (exit 1,
/// naming the file and the fix) and leave nothing behind, for every command that writes.
///
/// Real file systems, not simulated errors: each command runs in a private mount namespace
/// (`unshare -m`) where its output folder is a small tmpfs, filled before the command starts
/// (`full`), smaller than the output so that it fills up while the command writes
/// (`fillsUp`), or mounted read-only (`readOnly`; permissions would not do, root ignores them).
/// After the command the folder's listing is taken inside the namespace. Needs the right to
/// mount (root or CAP_SYS_ADMIN); skipped where it is missing.
@Suite("full disks and read-only destinations", .serialized, .enabled(if: FaultMounts.available, "needs mount namespaces (unshare -m, mount -t tmpfs)"))
struct FaultTests {
    enum Destination: CustomStringConvertible {
        /// A tmpfs filled with a filler file before the command starts.
        case full
        /// A tmpfs of this many bytes, smaller than the output.
        case fillsUp(bytes: Int)
        /// A read-only tmpfs.
        case readOnly

        var description: String {
            switch self {
            case .full: "full"
            case .fillsUp(let bytes): "\(bytes)-byte"
            case .readOnly: "read-only"
            }
        }
    }

    static let script = FaultMounts.script

    /// Runs `eah-convert arguments` with `folder` mounted as `destination` in a private mount
    /// namespace; returns the result and what the folder held afterwards (the filler aside).
    static func run(_ arguments: [String], folder: String, _ destination: Destination) throws -> (CommandRunner.Result, [String]) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let listing = folder + ".listing"
        let (options, fill): (String, String) = switch destination {
        case .full: ("size=64k", "1")
        case .fillsUp(let bytes): ("size=\(bytes)", "0")
        case .readOnly: ("ro,size=64k", "0")
        }
        let result = try CommandRunner.run(executable: "/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script,
                                                                           "sh", folder, options, fill, listing,
                                                                           CommandRunner.productsFolder + "/eah-convert"] + arguments)
        let names = (try? String(contentsOfFile: listing, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        return (result, names.filter { $0 != "filler" })
    }

    /// A command writing `output` (inside the folder under test); `shown` is the path its
    /// error names.
    struct Command: Sendable, CustomTestStringConvertible {
        let name: String
        let sources: [String]
        /// The arguments, given a scratch folder (outside the folder under test) and the output.
        let arguments: @Sendable (_ scratch: TemporaryDirectory, _ output: String) throws -> [String]
        let output: String
        /// The smallest output of this command is larger than this, so a tmpfs of it fills up.
        let fillsUpAt: Int?
        var testDescription: String { name }
    }

    static let m1 = InterruptionTests.m1
    static let tiny = InterruptionTests.tiny
    static let ggufText = InterruptionTests.ggufText
    static let ggufMMProj = InterruptionTests.ggufMMProj

    static func calibrationData(_ scratch: TemporaryDirectory) throws -> String {
        FileManager.default.fileExists(atPath: scratch.file("data.jsonl")) ? scratch.file("data.jsonl") : try CalibrateCommandTests.data(in: scratch)
    }

    static let commands: [Command] = [
        Command(name: "convert", sources: [m1], arguments: { _, output in ["convert", m1, "-o", output, "--dtype", "f16"] },
                output: "out.safetensors", fillsUpAt: 8192),
        Command(name: "convert --to gguf", sources: [ggufText], arguments: { _, output in ["convert", ggufText, "-o", output, "--dtype", "q8_0"] },
                output: "out.gguf", fillsUpAt: 8192),
        Command(name: "patch", sources: [m1], arguments: { _, output in ["patch", m1, "--head", "1:3", "-o", output] },
                output: "bundle", fillsUpAt: 8192),
        Command(name: "patch --bake --to gguf", sources: [ggufText, ggufMMProj],
                arguments: { _, output in ["patch", ggufText, "--mmproj", ggufMMProj, "--head", "0:2", "--bake", "-o", output] },
                output: "bundle", fillsUpAt: 8192),
        Command(name: "main job", sources: [tiny], arguments: { scratch, output in
            [tiny, "--data", try calibrationData(scratch), "--layers", "0-1", "--beta", "0.05", "-o", output]
        }, output: "bundle", fillsUpAt: 8192),
        Command(name: "unpatch", sources: [m1], arguments: { scratch, output in
            let baked = scratch.file("baked")
            if !FileManager.default.fileExists(atPath: baked) {
                let result = try CommandRunner.run("eah-convert", ["patch", m1, "--head", "1:3", "--bake", "-o", baked])
                #expect(result.status == 0, "\(result.stderr)")
            }
            return ["unpatch", baked, "-o", output]
        }, output: "plain", fillsUpAt: 8192),
        Command(name: "calibrate -o", sources: [tiny], arguments: { scratch, output in
            ["calibrate", tiny, "--data", try calibrationData(scratch), "--layers", "0-1", "--beta", "0.05", "-o", output]
        }, output: "report.json", fillsUpAt: nil),
    ]

    @Test("one line, exit 1, nothing left", arguments: commands)
    func faults(_ command: Command) throws {
        let scratch = TemporaryDirectory()
        let sources = Dictionary(uniqueKeysWithValues: command.sources.map { ($0, InterruptionTests.snapshot($0)) })
        var destinations: [Destination] = [.full, .readOnly]
        if let bytes = command.fillsUpAt { destinations.append(.fillsUp(bytes: bytes)) }
        for (index, destination) in destinations.enumerated() {
            let folder = scratch.file("mount\(index)")
            let output = folder + "/" + command.output
            let (result, left) = try Self.run(try command.arguments(scratch, output), folder: folder, destination)
            let context = "\(command.name) onto a \(destination) file system"
            #expect(result.status == 1, "\(context): exit \(result.status), \(result.stderr)")
            // Calibration warnings (a saturated layer) may come first; the error is one line.
            let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                .filter { !$0.hasPrefix("eah-convert: warning: ") }
            #expect(lines.count == 1, "\(context): \(result.stderr)")
            // The file named: the output, or a file inside the output folder.
            let error = lines.first.map(String.init) ?? ""
            #expect(error.hasPrefix("eah-convert: " + output + ":") || error.hasPrefix("eah-convert: " + output + "/"),
                    "\(context): \(result.stderr)")
            #expect(!result.stderr.contains(".partial-"), "\(context): names a temporary path: \(result.stderr)")
            switch destination {
            case .full, .fillsUp:
                #expect(result.stderr.contains("cannot be written (No space left on device); the file system is full: free space on it, or write the output to another file system"),
                        "\(context): \(result.stderr)")
            case .readOnly:
                #expect(result.stderr.contains("cannot be written (Read-only file system); the file system is read-only: choose an output path on a writable one"),
                        "\(context): \(result.stderr)")
            }
            #expect(left.isEmpty, "\(context): left \(left)")
        }
        for (path, files) in sources { #expect(InterruptionTests.snapshot(path) == files, "\(command.name) changed its source \(path)") }
    }
}

/// Whether this process may mount in a private namespace, and the script that does it:
/// `sh -c SCRIPT sh FOLDER OPTIONS FILL LISTING COMMAND...`.
enum FaultMounts {
    static let script = """
        dir=$1 options=$2 fill=$3 listing=$4; shift 4
        mount -t tmpfs -o "$options" eah-fault "$dir" || exit 97
        if [ "$fill" = 1 ]; then cat /dev/zero > "$dir/filler" 2>/dev/null; fi
        "$@"; status=$?
        ls -A "$dir" > "$listing"
        exit $status
        """

    static let available: Bool = {
        let directory = TemporaryDirectory()
        let result = try? CommandRunner.run(executable: "/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c", script,
                                                                             "sh", directory.path, "size=64k", "0", directory.file("listing"), "/bin/true"])
        return result?.status == 0
    }()
}
