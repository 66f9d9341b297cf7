import EAHCheckpoint
import EAHModel

/// `convert` of a model folder into a folder: the weights converted (safetensors, sharded as a
/// bundle's are past 5 GB) with the config, tokenizer, processor, template and model-card files
/// copied beside them, so the result runs wherever the source did. Written under a temporary
/// name and renamed into place.
public enum ModelFolderConverter {
    /// Converts the model folder `source` into the folder `output`; returns the files written.
    @discardableResult
    public static func convert(_ source: String, to output: String, options: ConversionOptions,
                               progress: ((Int, Int) -> Void)? = nil) throws(CheckpointError) -> [String] {
        let reader = try Checkpoint.open(source)
        let directory = try DirectoryOutput(path: output, overwrite: options.overwrite, kind: .modelFolder)
        var written = try BundleWriter.writeWeights(reader, into: directory, name: "model.safetensors", options: options, rewrites: [:],
                                                    progress: progress)
        for name in BundleLayout.companionFiles + ModelCard.licenseFiles + [ModelCard.readme] where ModelFiles.exists(source + "/" + name) {
            try directory.copy(source + "/" + name, as: name)
            written.append(name)
        }
        try directory.commit()
        return written
    }
}
