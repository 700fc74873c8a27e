/// CSRF tokens bound to one session: `<key id>.<random>.<mac>`, where the MAC covers the
/// session's token hash and the random part. A token of another session, a forged one, or one
/// signed by a key no longer in the ring fails.
public enum CSRFToken {
    /// A new token for the session whose token hash is `sessionTokenHash`.
    public static func issue(for sessionTokenHash: String, keys: KeyRing) -> String {
        let nonce = RandomToken.base32(RandomToken.bytes(16))
        let (keyID, mac) = keys.sign(message(sessionTokenHash, nonce))
        return "\(keyID).\(nonce).\(mac)"
    }

    /// Whether `token` was issued for this session by a key in the ring.
    public static func isValid(_ token: String, for sessionTokenHash: String, keys: KeyRing) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 26, token.utf8.count < 200 else { return false }
        return keys.verify(message(sessionTokenHash, String(parts[1])), keyID: String(parts[0]), mac: String(parts[2]))
    }

    private static func message(_ session: String, _ nonce: String) -> String {
        "csrf-v1|\(session)|\(nonce)"
    }
}
