import EAH
import EAHCheckpoint
import EAHCore

/// An EAH bundle on disk: its manifest, and where its model and companions are.
///
/// Opening verifies every weight file the manifest lists (size, then SHA-256) before anything
/// else reads them; a changed or missing file is refused.
public struct EAHBundle: Sendable {
    public let path: String
    public let manifest: EAHManifest

    /// Whether `path` is a folder holding a `manifest.pb`.
    public static func isBundle(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR && access(path + "/" + BundleLayout.manifest, F_OK) == 0
    }

    /// Refuses a folder eah-convert wrote as a bundle whose `manifest.pb` is gone: its weights
    /// can no longer be verified, and it must not pass for a plain model folder.
    public static func refuseDamagedBundle(_ path: String) throws(CheckpointError) {
        let folder = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        if !isBundle(folder), DirectoryOutput.kind(of: folder) == .bundle {
            throw CheckpointError(path: folder, problem: BundleProblem.missingManifest)
        }
    }

    public init(path: String, verify: Bool = true) throws(CheckpointError) {
        let folder = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        guard Self.isBundle(folder) else { throw CheckpointError(path: folder, problem: BundleProblem.notABundle) }
        self.path = folder
        manifest = try EAHManifest.read(path: folder + "/" + BundleLayout.manifest)
        if verify { try self.verify() }
    }

    /// Names of files that hold weights (or say where weights are), by extension.
    static let weightExtensions = [".safetensors", ".gguf", ".bin", ".pt", ".pth", ".index.json"]

    /// Checks every weight file against the manifest: the manifest must list weight files, every
    /// weight file in the bundle (and its `vision_tower/`) must be listed, and each listed one
    /// must have its size and SHA-256.
    public func verify() throws(CheckpointError) {
        let manifestPath = path + "/" + BundleLayout.manifest
        guard !manifest.weightFiles.isEmpty else { throw CheckpointError(path: manifestPath, problem: BundleProblem.noWeightFiles) }
        let listed = Set(manifest.weightFiles.map(\.path))
        for folder in ["", BundleLayout.visionTower + "/"] {
            for name in (try? BundleUnpatcher.entries(of: path + "/" + folder)) ?? []
            where Self.weightExtensions.contains(where: { name.hasSuffix($0) }) && !listed.contains(folder + name) {
                throw CheckpointError(path: manifestPath, problem: BundleProblem.unlistedWeightFile(folder + name))
            }
        }
        for file in manifest.weightFiles {
            let full = path + "/" + file.path
            var status = stat()
            guard !file.path.contains(".."), stat(full, &status) == 0 else {
                throw CheckpointError(path: path, problem: BundleProblem.missingFile(file.path))
            }
            guard Int(status.st_size) == file.size, try FileDigest.sha256(path: full) == file.sha256 else {
                throw CheckpointError(path: full, problem: BundleProblem.checksumMismatch(file: file.path))
            }
        }
    }

    /// The text model: the bundle folder itself, or its `model.gguf`.
    public var modelPath: String {
        access(path + "/" + BundleLayout.ggufModel, F_OK) == 0 ? path + "/" + BundleLayout.ggufModel : path
    }

    /// The CLIP folder of an original-LLaVA bundle.
    public var visionTower: String? {
        access(path + "/" + BundleLayout.visionTower, F_OK) == 0 ? path + "/" + BundleLayout.visionTower : nil
    }

    /// The mmproj of a GGUF bundle.
    public var mmproj: String? {
        access(path + "/" + BundleLayout.ggufMMProj, F_OK) == 0 ? path + "/" + BundleLayout.ggufMMProj : nil
    }

    /// The original q/k tensors of a baked bundle.
    public var originalRows: String? {
        for name in [BundleLayout.originalRowsSafetensors, BundleLayout.originalRowsGGUF] where access(path + "/" + name, F_OK) == 0 {
            return path + "/" + name
        }
        return nil
    }

    /// The hook that applies the manifest's patches at run time: nil when they are baked into
    /// the weights (or there are none).
    public var hook: EAHAttentionHook? {
        manifest.baked || manifest.patches.isEmpty ? nil : EAHAttentionHook(patches: manifest.patches)
    }
}
