/// How a non-square image becomes the vision tower's square input.
public enum PreprocessMode: String, Sendable, Equatable, CaseIterable {
    /// Resize the shortest edge, then center-crop (llava-hf's processor as configured).
    case crop
    /// LLaVA-1.5's `image_aspect_ratio: pad`: paste the image centred on a square of the mean
    /// colour (`expand2square`), then resize and crop as `crop` does.
    case pad
}
