import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore

/// API keys: minted, and read from an `Authorization` header, here only.
public enum BearerKey {
    /// A new key: `zk_` and 256 random bits in base32. Only its SHA-256 is stored.
    public static func mint() -> String {
        "zk_" + RandomToken.base32(RandomToken.bytes(32))
    }

    /// The SHA-256 (hex) of the key in `Bearer zk_…` (at most 128 bytes), the form keys are
    /// stored in; nil for any other header.
    public static func hash(authorization header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", parts[1].hasPrefix("zk_"), parts[1].utf8.count <= PresentedCredential.maxTokenLength else { return nil }
        return Digest.sha256Hex(String(parts[1]))
    }
}
