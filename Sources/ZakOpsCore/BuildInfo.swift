/// What this binary is, for `zakops --version`, evidence bundles and (later) metrics.
public enum BuildInfo {
    /// The release; the API document's `info.version` names the same.
    public static let version = "1.0.0"
}
