import ArgumentParser
import EAHCommandLine
import EAHCheckpoint
import EAHFrontEnd
import EAHCore

/// `eah-convert preprocess --processor DIR_OR_FILE [--mode crop|pad] IMAGE -o PV.safetensors`.
struct PreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Decode and preprocess an image as the model's processor does; write pixel_values [1, 3, H, W] for eah-run --pixel-values."
    )

    @Option(help: "preprocessor_config.json, a folder holding it (or processor_config.json), or an mmproj GGUF.")
    var processor: String

    @Option(help: "crop (resize, center crop) or pad (to a square in the mean colour first, as LLaVA-1.5).")
    var mode: PreprocessMode = .crop

    @Argument(help: "A JPEG or PNG image.")
    var image: String

    @Option(name: .shortAndLong, help: "The safetensors file to write.")
    var output: String

    @Flag(help: "Overwrite the output if it exists.")
    var force = false

    func run() throws {
        let config = try Self.config(processor)
        let pixels = try CLIPPreprocessor(config: config).preprocess(path: image, mode: mode)
        try pixels.write(to: output, overwrite: force)
        print("wrote \(output): pixel_values [1, 3, \(pixels.height), \(pixels.width)] (\(mode.rawValue))")
    }

    static func config(_ path: String) throws(CheckpointError) -> PreprocessorConfig {
        var status = stat()
        guard stat(path, &status) == 0 else { throw CheckpointError(path: path, problem: FileProblem.notFound) }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            if access(path + "/preprocessor_config.json", F_OK) == 0 { return try PreprocessorConfig(path: path + "/preprocessor_config.json") }
            return try ProcessorConfigFile.imageProcessor(path + "/processor_config.json")
        }
        let file = try MappedFile(path: path)
        if file.count >= 4, Array(file.bytes[0..<4]) == Array("GGUF".utf8) {
            return try PreprocessorConfig(mmproj: try GGUFReader(file: file))
        }
        if path.hasSuffix("processor_config.json"), !path.hasSuffix("preprocessor_config.json") {
            return try ProcessorConfigFile.imageProcessor(path)
        }
        return try PreprocessorConfig(path: path)
    }
}
