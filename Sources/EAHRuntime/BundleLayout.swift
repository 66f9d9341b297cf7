/// Where things live inside a bundle directory.
public enum BundleLayout {
    public static let manifest = "manifest.pb"
    /// A GGUF bundle's text model and mmproj.
    public static let ggufModel = "model.gguf"
    public static let ggufMMProj = "mmproj.gguf"
    /// An original-LLaVA bundle's CLIP folder.
    public static let visionTower = "vision_tower"
    /// The q/k tensors a baked bundle overwrote, as they were (for `--no-eah` and `unpatch`).
    public static let originalRowsSafetensors = "eah_original_rows.safetensors"
    public static let originalRowsGGUF = "eah_original_rows.gguf"
    /// Shards start past this many bytes of tensor data (as Hugging Face shards at 5 GB).
    public static let maximumShardBytes = 5_000_000_000

    /// Model-folder files a bundle carries along when present.
    public static let companionFiles = [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer.model", "vocab.json", "merges.txt", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "preprocessor_config.json", "processor_config.json",
        "chat_template.json", "chat_template.jinja",
    ]
}
