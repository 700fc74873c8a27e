import Crypto

/// Hex digests used across ZakOps (migration checksums, and later token hashes).
public enum Digest {
    /// Lower-case hex SHA-256 of `bytes`.
    public static func sha256Hex(_ bytes: some Sequence<UInt8>) -> String {
        SHA256.hash(data: Array(bytes)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Lower-case hex SHA-256 of a string's UTF-8 bytes.
    public static func sha256Hex(_ text: String) -> String {
        sha256Hex(Array(text.utf8))
    }
}
