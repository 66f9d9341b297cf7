import EAHCheckpoint

/// Reads the image processor section of a `processor_config.json` (where transformers 5 saves
/// it instead of `preprocessor_config.json`).
public enum ProcessorConfigFile {
    public static func imageProcessor(_ path: String) throws(CheckpointError) -> PreprocessorConfig {
        let file = try MappedFile(path: path)
        let json: JSONValue
        do throws(JSONProblem) {
            json = try withExtendedLifetime(file) { () throws(JSONProblem) in try JSONParser.parse(file.bytes) }
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
        guard let section = json["image_processor"] else {
            throw CheckpointError(path: path, problem: PreprocessorProblem.missingKey("image_processor"))
        }
        do throws(PreprocessorProblem) {
            return try PreprocessorConfig(json: section)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }
}
