import EAH
import EAHCheckpoint
import EAHCore

/// Undoes baking: writes a baked bundle's model folder with the original q/k tensors back in
/// place, byte for byte what the bundle's weights were before baking (same writer, same order).
public enum BundleUnpatcher {
    /// Writes the folder and returns how many files it holds. The manifest, the original-rows
    /// file and calibration outputs are left out: the result is a plain model folder.
    @discardableResult
    public static func unpatch(_ bundle: EAHBundle, to output: String, overwrite: Bool) throws(CheckpointError) -> Int {
        guard bundle.manifest.baked, let originalsPath = bundle.originalRows else {
            throw CheckpointError(path: bundle.path, problem: BundleProblem.notBaked)
        }
        let originals = try Checkpoint.open(originalsPath)
        let directory = try DirectoryOutput(path: output, overwrite: overwrite, kind: .modelFolder)
        let skipped: Set<String> = [BundleLayout.manifest, BundleLayout.originalRowsSafetensors, BundleLayout.originalRowsGGUF,
                                    "calibration.json", "calibration.svg", DirectoryOutput.marker]
        let textWeights = Set(bundle.manifest.weightFiles.map(\.path).filter {
            $0 == BundleLayout.ggufModel || $0 == "model.safetensors" || $0.hasPrefix("model-") && $0.hasSuffix(".safetensors")
        })
        var count = 0
        for name in try entries(of: bundle.path) where !skipped.contains(name) {
            let source = bundle.path + "/" + name
            if isFolder(source) {
                try directory.makeFolder(name)
                for inner in try entries(of: source) {
                    try directory.copy(source + "/" + inner, as: name + "/" + inner)
                    count += 1
                }
            } else if name == ModelCard.readme {
                // The README as the source had it (the EAH section removed), if it had one.
                let file = try MappedFile(path: source)
                let text = withExtendedLifetime(file) { String(decoding: file.bytes, as: UTF8.self) }
                if let original = ModelCard.original(of: text) {
                    try TextFile.write(original, to: directory.file(name), overwrite: false)
                    count += 1
                } else if !text.contains("## EAH patch") {
                    try directory.copy(source, as: name)
                    count += 1
                }
            } else if textWeights.contains(name) {
                let reader = try OverlayCheckpoint(base: try Checkpoint.open(source), overlay: originals, partial: true)
                let format: ConversionOptions.OutputFormat = name.hasSuffix(".gguf") ? .gguf : .safetensors
                try Converter.convert(reader, to: directory.file(name), options: ConversionOptions(format: format))
                count += 1
            } else {
                try directory.copy(source, as: name)
                count += 1
            }
        }
        try directory.commit()
        return count
    }

    static func isFolder(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    static func entries(of folder: String) throws(CheckpointError) -> [String] {
        guard let directory = opendir(folder) else { throw CheckpointError(path: folder, problem: FileProblem.notReadable(errno: errno)) }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
