import Foundation
import Synchronization

/// Runs the package's built executables (`eah-convert`, ...) as a user would, capturing
/// exit status and output.
public enum CommandRunner {
    /// What a finished command produced.
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        /// Killed after the run's timeout.
        public var timedOut = false
    }

    /// The folder holding the built products: the test bundle's own folder.
    public static let productsFolder: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // The test runner sits in `<products>/<Package>PackageTests.xctest` (a file on Linux).
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("eah-convert").path), url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url.path
    }()

    /// Runs `tool` (a product name) with `arguments` and waits for it; in `directory` when given.
    public static func run(_ tool: String, _ arguments: [String], in directory: String? = nil) throws -> Result {
        try run(executable: productsFolder + "/" + tool, arguments, in: directory)
    }

    /// Runs the program at `executable` with `arguments` and waits for it. With `timeout`, a run
    /// still going after that many seconds is killed (SIGKILL) and reported with `timedOut`.
    public static func run(executable: String, _ arguments: [String], in directory: String? = nil,
                           timeout: Double? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let killer = timeout.map { _ in
            DispatchWorkItem { [process] in if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        }
        if let killer, let timeout { DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer) }
        let (stdout, stderr) = drain(process, out: out, err: err)
        killer?.cancel()
        let timedOut = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL && timeout != nil
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: timedOut)
    }

    /// Reads a started process's standard output and error to their ends and waits for it. Both
    /// pipes are drained at once: a child that fills one (a verbose log on stderr) while the other
    /// is being read to its end would otherwise block, and the run with it.
    static func drain(_ process: Process, out: Pipe, err: Pipe) -> (stdout: String, stderr: String) {
        let errorOutput = Mutex(Data())
        let errorDrained = DispatchSemaphore(value: 0)
        let errorHandle = err.fileHandleForReading
        DispatchQueue.global().async {
            let data = errorHandle.readDataToEndOfFile()
            errorOutput.withLock { $0 = data }
            errorDrained.signal()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        errorDrained.wait()
        process.waitUntilExit()
        return (String(decoding: outData, as: UTF8.self), String(decoding: errorOutput.withLock { $0 }, as: UTF8.self))
    }
}
