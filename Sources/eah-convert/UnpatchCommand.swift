import ArgumentParser
import EAHCheckpoint
import EAHRuntime

/// `eah-convert unpatch BUNDLE -o DIR`: a baked bundle's weights as they were before baking.
struct UnpatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpatch",
        abstract: "Restore a baked bundle's original q/k rows: writes the model folder bit-exactly as it was before baking."
    )

    @Argument(help: "A baked EAH bundle.")
    var bundle: String

    @Option(name: .shortAndLong, help: "The folder to write.")
    var output: String

    @Flag(help: "Replace an existing output folder.")
    var force = false

    func run() throws {
        let written = try BundleUnpatcher.unpatch(try EAHBundle(path: bundle), to: output, overwrite: force)
        print("wrote \(output): \(written) file(s), original weights restored")
    }
}
