import Foundation

/// Runs the package's built executables (`eah-convert`, ...) as a user would, capturing
/// exit status and output.
public enum CommandRunner {
    /// What a finished command produced.
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
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

    /// Runs the program at `executable` with `arguments` and waits for it.
    public static func run(executable: String, _ arguments: [String], in directory: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting so a large output cannot block the child.
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}
