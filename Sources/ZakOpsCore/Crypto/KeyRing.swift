import Crypto
import Foundation
import Synchronization

/// The keys that sign and verify ZakOps's tokens (CSRF tokens, and later anything else that
/// must be tamper-proof): the current `SESSION_SECRET` signs, and it or
/// `SESSION_SECRET_PREVIOUS` verifies, so a rotation does not invalidate everything at once.
///
/// Each key has an id (the first 8 hex digits of SHA-256 of the key) carried in what it signs,
/// so verification picks the right key without trying each.
public struct KeyRing: Sendable {
    public struct Key: Sendable {
        public let id: String
        let key: SymmetricKey

        init(secret: Secret) {
            // The secret is text; HKDF turns it into a uniformly random 256-bit MAC key.
            let material = SymmetricKey(data: Data(secret.value.utf8))
            key = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data("zakops-mac-v1".utf8), outputByteCount: 32)
            id = String(Digest.sha256Hex(secret.value).prefix(8))
        }
    }

    public let current: Key
    public let previous: Key?

    public init(current: Secret, previous: Secret? = nil) {
        self.current = Key(secret: current)
        self.previous = previous.map(Key.init)
    }

    /// HMAC-SHA256 of `message` with the current key, base64url without padding.
    public func sign(_ message: String) -> (keyID: String, mac: String) {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: current.key)
        return (current.id, Base64URL.encode(Data(mac)))
    }

    /// A stable pseudonym for `value` under the current key (16 hex digits of an HMAC, with
    /// `purpose` keeping one use's names apart from another's): the same value gives the same
    /// name until the key rotates; without the key the name says nothing of the value.
    public func pseudonym(_ purpose: String, _ value: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data((purpose + "\u{0}" + value).utf8), using: current.key)
        return mac.prefix(8).map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }

    /// Whether `mac` is the MAC of `message` under the key `keyID` names (constant-time).
    public func verify(_ message: String, keyID: String, mac: String) -> Bool {
        let key: Key
        if keyID == current.id {
            key = current
        } else if let previous, keyID == previous.id {
            key = previous
        } else {
            return false
        }
        guard let bytes = Base64URL.decode(mac) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(bytes, authenticating: Data(message.utf8), using: key.key)
    }
}

/// The key ring in force, replaceable at run time (SIGHUP re-reads the secret files).
public final class KeyRingStore: Sendable {
    private let ring: Mutex<KeyRing>

    public init(_ ring: KeyRing) {
        self.ring = Mutex(ring)
    }

    /// The ring to sign and verify with now.
    public var current: KeyRing { ring.withLock { $0 } }

    public func replace(with new: KeyRing) {
        ring.withLock { $0 = new }
    }
}

/// base64url without padding (RFC 4648 §5), for tokens that travel in headers and cookies.
public enum Base64URL {
    public static func encode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: String) -> Data? {
        guard text.utf8.allSatisfy({ byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x2D || byte == 0x5F
        }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
