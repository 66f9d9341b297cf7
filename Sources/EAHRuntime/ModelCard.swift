import EAH
import EAHCheckpoint

/// The model card a bundle carries: the source's license files as they are, and its README
/// with a short section on the EAH patch appended (a README of that section alone when the
/// source has none).
public enum ModelCard {
    /// License files copied verbatim when the model folder has them.
    public static let licenseFiles = ["LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "NOTICE", "USE_POLICY.md"]
    /// The model card's name in a Hugging Face folder.
    public static let readme = "README.md"

    /// What separates the source README from the EAH section (so `unpatch` restores it exactly).
    static let sectionMarker = "\n\n<!-- eah: the section below describes the EAH patch of this bundle -->\n## EAH patch\n\n"

    /// The README of a bundle: `original` (the source README's text, if any) followed by the
    /// EAH section describing `patches`.
    public static func readme(original: String?, patches: [EAHLayerPatch], baked: Bool, calibration: EAHManifest.CalibrationProvenance?) -> String {
        var text = (original ?? "") + sectionMarker
        text += "This folder is an EAH bundle written by eah \(EAHVersion.current): the model above, unchanged except for "
        text += "Enhancing Attention Heads (EAH), which copies the attention map of a vision-sink head of a shallow decoder layer "
        text += "over the other heads of that layer to reduce object hallucination, without retraining.\n\n"
        text += "| layer | head | selection | β | phase | target heads |\n|---|---|---|---|---|---|\n"
        for patch in patches {
            let (head, selection): (String, String)
            switch patch.selection {
            case .dynamic: (head, selection) = ("per input", "dynamic")
            case .fixed(let chosen): (head, selection) = (String(chosen), "static")
            }
            let targets = patch.targetHeads.map { $0.map(String.init).joined(separator: ", ") } ?? "all"
            text += "| \(patch.layer) | \(head) | \(selection) | \(patch.beta) | \(patch.phase.rawValue) | \(targets) |\n"
        }
        if let calibration {
            text += "\nThe heads were calibrated on \(calibration.sampleCount) samples (data sha256 \(calibration.dataDigest.prefix(16))…, "
            text += "β \(calibration.beta)); `calibration.json` and `calibration.svg` hold the report and its heatmap.\n"
        }
        if baked {
            text += "\nThe broadcast is baked into the weights (the chosen head's q/k rows copied over its layer's heads), so stock "
            text += "runtimes run it as is; `eah_original_rows.*` keeps the rows as they were (`eah-convert unpatch` restores them).\n"
        } else {
            text += "\nThe weights are the original ones; `eah-run` applies the patch at load time from `manifest.pb`.\n"
        }
        text += "\nWith BUNDLE the path of this folder:\n\n"
        text += "```sh\neah-run BUNDLE --image photo.jpg --prompt \"Describe the image.\"           # with EAH\n"
        text += "eah-run BUNDLE --image photo.jpg --prompt \"Describe the image.\" --no-eah  # the original model\n```\n"
        return text
    }

    /// The source README a bundle's README was made from: the text before the EAH section
    /// (nil when the source had none, or `text` has no EAH section).
    public static func original(of text: String) -> String? {
        guard let range = text.firstRange(of: sectionMarker) else { return nil }
        let original = String(text[..<range.lowerBound])
        return original.isEmpty ? nil : original
    }
}
