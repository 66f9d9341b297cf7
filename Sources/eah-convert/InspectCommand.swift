import ArgumentParser
import EAHCheckpoint

/// `eah-convert inspect PATH [--json]`.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List a checkpoint's format, weight layout, metadata and tensors."
    )

    @Argument(help: "A checkpoint file, a model folder or an index .json file.")
    var path: String

    @Flag(help: "Print a JSON document ({\"schema\": 1, ...}) instead of a listing.")
    var json = false

    func run() throws {
        let reader = try Checkpoint.open(path)
        print(json ? CheckpointReport.json(reader).serialized : CheckpointReport.text(reader))
    }
}
