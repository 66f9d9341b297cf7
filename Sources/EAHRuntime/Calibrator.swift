import EAH
import EAHCheckpoint
import EAHModel

/// Runs calibration samples through a model and collects their sink counts.
///
/// Only the vision tower, the projector and decoder layers up to the deepest calibrated one
/// run; the weights behind later layers are never touched, so time and resident memory follow
/// the calibrated layers.
public struct Calibrator {
    public let pipeline: ModelPipeline
    public let layers: [Int]
    public let beta: Double

    public init(pipeline: ModelPipeline, layers: [Int], beta: Double) throws(CheckpointError) {
        let count = pipeline.shape.layerCount
        for layer in layers where !(0..<count).contains(layer) {
            throw CheckpointError(path: "--layers", problem: CalibrationProblem.layerOutOfRange(layer: layer, layerCount: count))
        }
        self.pipeline = pipeline
        self.layers = layers.sorted()
        self.beta = beta
    }

    /// The statistics of `samples` (whose indexes in the calibration data are `indices`, by
    /// default `0..<samples.count`); `progress` gets (done, total) after each.
    public func run(_ samples: [CalibrationData.Sample], indices: [Int]? = nil,
                    progress: (Int, Int) -> Void = { _, _ in }) throws(CheckpointError) -> CalibrationStatistics {
        var statistics = CalibrationStatistics(layers: layers, headCount: pipeline.shape.headCount)
        for (index, sample) in samples.enumerated() {
            let hook = EAHAttentionHook(patches: [], observedLayers: Set(layers), observationBeta: beta)
            let (prompt, images) = try pipeline.inputs(question: sample.prompt, image: sample.image)
            do throws(ModelProblem) {
                try pipeline.model.observePrefill(prompt, images: images, hook: hook, throughLayer: layers.last ?? 0)
            } catch {
                throw CheckpointError(path: sample.image, problem: error)
            }
            var tokensByKind: [String: Int] = [:]
            for (kind, count) in prompt.image.countsByKind { tokensByKind[kind.rawValue] = count }
            statistics.add(counts: layers.map { hook.sinkCounts[$0] ?? [] }, imageTokens: prompt.imagePositions.count,
                           countsByKind: layers.map { hook.sinkCountsByKind[$0] ?? [:] }, imageTokensByKind: tokensByKind,
                           sample: indices.map { $0[index] } ?? index)
            progress(index + 1, samples.count)
        }
        return statistics
    }
}
