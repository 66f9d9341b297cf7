import ArgumentParser
import EAHCheckpoint

/// `-q`: no progress bar (errors and results still print).
public struct OutputOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "No progress bar on standard error (errors and results still print).")
    public var quiet = false

    public init() {}

    /// Silences every progress bar of the process when `-q` was given.
    public func apply() {
        if quiet { ProgressBar.silenced = true }
    }
}
