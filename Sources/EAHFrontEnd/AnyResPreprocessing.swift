/// LLaVA-NeXT's "anyres" pixel values, as transformers' `LlavaNextImageProcessorPil` makes them.
///
/// The geometry (the pinpoint `resolution` and the aspect-kept `resized` size inside it) comes
/// from the model family (`AnyResLayout`), which also packs the features; this file does the
/// pixels: Pillow resize to `resized`, centred zero padding to `resolution` (offsets floored),
/// tiles of `tile` pixels row-major, and the base image squashed to the processor's size first;
/// each then goes through the processor's resize/crop (no-ops for tile-sized squares),
/// rescale and normalisation.
extension CLIPPreprocessor {
    public func anyresPixelValues(_ image: RGBImage, resized: (height: Int, width: Int), resolution: (height: Int, width: Int),
                                  tile: Int) -> [Float] {
        let source = config.doConvertRGB ? image.compositedOnWhite() : image
        let scaled = PILResampler.resize(source, width: resized.width, height: resized.height, filter: config.resample)
        let top = (resolution.height - resized.height) / 2, left = (resolution.width - resized.width) / 2
        let baseSide: (height: Int, width: Int) = switch config.size {
        case .shortestEdge(let edge): (edge, edge)
        case .exact(let height, let width): (height, width)
        }
        var tiles = [PILResampler.resize(source, width: baseSide.width, height: baseSide.height, filter: config.resample)]
        for row in stride(from: 0, to: resolution.height, by: tile) {
            for column in stride(from: 0, to: resolution.width, by: tile) {
                tiles.append(Self.window(of: scaled, top: row - top, left: column - left, height: min(tile, resolution.height - row),
                                         width: min(tile, resolution.width - column)))
            }
        }
        return tiles.flatMap { normalized(resizedAndCropped($0, mode: .crop)).values }
    }
}

extension CLIPPreprocessor {
    /// LLaVA-NeXT's pixel values as llama.cpp makes them for a GGUF model (tools/mtmd/mtmd-image.cpp,
    /// llava_uhd with pinpoints): with `resized` (the image is larger than a tile), the image Pillow-
    /// bicubic resized to `resized`, centred on black at `resolution` (offsets floored) and cut into
    /// `tile`-pixel slices row-major; then, always, the overview: the whole image squashed to the tile
    /// by Pillow bicubic. Each is normalised with the mmproj's mean and std; nothing is cropped.
    public func llamaCppSlicePixelValues(_ image: RGBImage, resized: (height: Int, width: Int)?, resolution: (height: Int, width: Int),
                                         tile: Int) -> [Float] {
        var tiles: [RGBImage] = []
        if let resized {
            let scaled = PILResampler.resize(image, width: resized.width, height: resized.height, filter: .bicubic)
            let top = (resolution.height - resized.height) / 2, left = (resolution.width - resized.width) / 2
            for row in stride(from: 0, to: resolution.height, by: tile) {
                for column in stride(from: 0, to: resolution.width, by: tile) {
                    tiles.append(Self.window(of: scaled, top: row - top, left: column - left, height: tile, width: tile))
                }
            }
        }
        tiles.append(PILResampler.resize(image, width: tile, height: tile, filter: .bicubic))
        return tiles.flatMap { normalized($0).values }
    }
}
