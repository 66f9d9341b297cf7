import EAHCheckpoint
import EAHFrontEnd
import EAHCore

/// Finds the files that sit beside a model's weights.
public enum ModelFiles {
    /// The folder a model path stands for: itself when a folder, else the file's folder.
    public static func folder(of path: String) -> String {
        var status = stat()
        if stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR { return path }
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// `name` in `folder`, or a `needsCompanion` error naming what is missing.
    public static func required(_ name: String, in folder: String) throws(CheckpointError) -> String {
        let path = folder + "/" + name
        guard exists(path) else {
            throw CheckpointError(path: folder, problem: ModelProblem.needsCompanion("holds no \(name), which the model's inputs need"))
        }
        return path
    }

    /// The image processor's settings: `preprocessor_config.json`, else the `image_processor`
    /// section of `processor_config.json` (where transformers 5 saves it).
    public static func preprocessorConfig(in folder: String) throws(CheckpointError) -> PreprocessorConfig {
        if exists(folder + "/preprocessor_config.json") { return try PreprocessorConfig(path: folder + "/preprocessor_config.json") }
        let path = folder + "/processor_config.json"
        guard exists(path) else {
            throw CheckpointError(path: folder, problem: ModelProblem.needsCompanion("holds no preprocessor_config.json or processor_config.json, which the image preprocessing needs"))
        }
        return try ProcessorConfigFile.imageProcessor(path)
    }

    /// The tokenizer file in `folder` (`TokenizerFile.path(inFolder:)`).
    public static func tokenizer(in folder: String) throws(CheckpointError) -> String {
        guard let path = TokenizerFile.path(inFolder: folder) else {
            throw CheckpointError(path: folder, problem: ModelProblem.needsCompanion("holds no " + TokenizerFile.folderFiles))
        }
        return path
    }
}

