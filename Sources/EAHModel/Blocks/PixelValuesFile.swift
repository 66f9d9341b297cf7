import EAHCheckpoint
import EAHCore

/// Reads the `pixel_values` tensor `eah-run --pixel-values` takes.
public enum PixelValuesFile {
    /// The F32 tensor `pixel_values` of shape [1, 3, H, W] from a safetensors file, checked
    /// against the vision tower's image size, as `3·H·W` floats (channel-major).
    public static func read(_ path: String, config: CLIPVisionConfig) throws(CheckpointError) -> [Float] {
        let reader = try SafetensorsReader(path: path)
        guard let tensor = reader.tensor(named: "pixel_values") else {
            throw CheckpointError(path: path, problem: ModelProblem.badPixelValues("holds no tensor named 'pixel_values'"))
        }
        let expected = [1, config.channelCount, config.imageSize, config.imageSize]
        guard tensor.dtype == .f32, tensor.shape == expected else {
            throw CheckpointError(path: path, problem: ModelProblem.badPixelValues(
                "'pixel_values' is \(tensor.dtype.name) \(tensor.shape); the vision tower needs F32 \(expected)"))
        }
        let bytes = try reader.bytes(of: tensor)
        var values = [Float](repeating: 0, count: tensor.elementCount)
        bytes.withUnsafeBytes { raw in
            values.withUnsafeMutableBytes { $0.copyMemory(from: raw) }
        }
        return values
    }
}
