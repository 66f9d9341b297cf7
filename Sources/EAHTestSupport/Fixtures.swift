import Foundation

/// Paths of the committed test fixtures (made by the scripts in `tools/`).
public enum Fixtures {
    /// The `Tests/Fixtures` folder of this checkout.
    public static let root: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Tests/Fixtures").path
    }()

    /// The absolute path of `relative` under `Tests/Fixtures`.
    public static func path(_ relative: String) -> String {
        root + "/" + relative
    }
}
