import EAHCheckpoint
import EAHFuzzTargets
import EAHCore
#if EAH_FUZZING
import CFuzzerDriver
#endif

/// `eah-fuzz`: the parsers' fuzz targets (see `FuzzTargets`).
///
/// Built with `-sanitize=fuzzer` and `-D EAH_FUZZING` (`make fuzz`), it is a libFuzzer binary:
/// `EAH_FUZZ_TARGET=gguf eah-fuzz [libFuzzer flags] CORPUS...`. In an ordinary build it replays
/// inputs: `eah-fuzz TARGET FILE...` runs the target on each file (a crash reproduces).
@main
enum EAHFuzz {
    static func main() {
        if CommandLine.arguments.dropFirst().first == "--list" {
            for target in FuzzTargets.all { print("\(target.name)\t\(target.summary)") }
            exit(0)
        }
        #if EAH_FUZZING
        let name = getenv("EAH_FUZZ_TARGET").map { String(cString: $0) } ?? ""
        guard let target = FuzzTargets.named(name) else {
            StandardStream.error.write("eah-fuzz: set EAH_FUZZ_TARGET to one of: \(FuzzTargets.all.map(\.name).joined(separator: ", "))\n")
            exit(2)
        }
        selected = target
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            EAHFuzz.selected?.run(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        })
        #else
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTargets.named(name), arguments.count > 1 else {
            StandardStream.error.write("usage: eah-fuzz TARGET FILE... | eah-fuzz --list (targets: \(FuzzTargets.all.map(\.name).joined(separator: ", ")))\n")
            exit(2)
        }
        for path in arguments.dropFirst() {
            do {
                let file = try MappedFile(path: path)
                withExtendedLifetime(file) { target.run(file.bytes) }
            } catch {
                StandardStream.error.write("eah-fuzz: \(error)\n")
                exit(1)
            }
            print("\(path): ok")
        }
        #endif
    }

    #if EAH_FUZZING
    nonisolated(unsafe) static var selected: FuzzTargets.Target?
    #endif
}
