import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore

/// An API key in an `Authorization` header.
public enum BearerKey {
    /// The SHA-256 (hex) of the key in `Bearer zk_…` (at most 128 bytes), the form keys are
    /// stored in; nil for any other header.
    public static func hash(authorization header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].hasPrefix("zk_"), parts[1].utf8.count <= 128 else { return nil }
        return Digest.sha256Hex(String(parts[1]))
    }
}
