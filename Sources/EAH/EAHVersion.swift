/// The toolchain's version, recorded in reports and manifests.
public enum EAHVersion {
    public static let current = "0.1.0"
}
