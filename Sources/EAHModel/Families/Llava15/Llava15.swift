import EAHCheckpoint
import EAHCore

/// LLaVA-1.5: a CLIP ViT tower (a layer's hidden states without the class token), a two-layer
/// GELU projector and a LLaMA decoder; one square image (`pad` or `crop`) is one run of
/// `imageFeatureCount` positions. Layouts: llava-hf (every transformers naming), the original
/// release with its CLIP folder, llama.cpp GGUF with its mmproj (`WeightNameTable.layouts`).
public enum Llava15: ModelFamily {
    public static let name = "llava-1.5"
    public static let modelTypes: Set<String> = ["llava"]

    public static func claims(originalConfig: JSONValue) -> Bool { true }
    public static func claims(mmproj metadata: [MetadataEntry]) -> Bool { true }

    public static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> any VisionLanguageModel {
        LlavaModel(weights: try LlavaLoader.load(request, reader: reader, layout: layout, family: name), pool: pool)
    }
}
