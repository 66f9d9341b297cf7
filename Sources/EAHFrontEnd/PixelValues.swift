import EAHCheckpoint

/// A preprocessed image: F32, channel-major `[3, height, width]`, what the vision tower takes.
public struct PixelValues: Sendable, Equatable {
    public let height: Int
    public let width: Int
    /// `3 * height * width` values: the R plane, then G, then B, each row-major.
    public let values: [Float]

    public init(height: Int, width: Int, values: [Float]) {
        precondition(values.count == 3 * height * width, "pixel values must hold 3 × height × width floats")
        self.height = height
        self.width = width
        self.values = values
    }

    /// Writes a safetensors file with one F32 tensor `pixel_values` of shape
    /// `[1, 3, height, width]` (what `eah-run --pixel-values` reads); replaces an existing file
    /// only when `overwrite`.
    public func write(to path: String, overwrite: Bool = false) throws(CheckpointError) {
        let writer = try SafetensorsWriter(
            path: path, overwrite: overwrite,
            tensors: [TensorPlan(name: "pixel_values", dtype: .f32, shape: [1, 3, height, width])])
        let result: Result<Void, CheckpointError> = values.withUnsafeBytes { raw in
            do throws(CheckpointError) { try writer.write(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
        try writer.finish()
    }
}
