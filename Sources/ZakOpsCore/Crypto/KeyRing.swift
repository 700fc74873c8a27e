import Crypto
import Foundation
import Synchronization

/// The keys that sign and verify ZakOps's tokens (CSRF tokens, and later anything else that
/// must be tamper-proof): the current `SESSION_SECRET` signs, and it or
/// `SESSION_SECRET_PREVIOUS` verifies, so a rotation does not invalidate everything at once.
///
/// Each key has an id (the first 8 hex digits of SHA-256 of the key) carried in what it signs,
/// so verification picks the right key without trying each.
///
/// The keys are derived from the secrets and a *generation* kept in the database: the
/// auth-breach playbook raises it, and every instance derives new keys from the same secrets,
/// so every token signed before is refused cluster-wide without anyone handling a secret.
/// The previous secret's key is derived at the same generation: a raised generation refuses
/// everything issued before it.
public struct KeyRing: Sendable {
    public struct Key: Sendable {
        public let id: String
        let key: SymmetricKey

        init(secret: Secret, generation: Int, purpose: Purpose) {
            // The secret is text; HKDF turns it into a uniformly random 256-bit MAC key.
            // Generation 0 keeps the original derivation, so tokens issued before generations
            // existed stay valid until the first raise.
            let suffix = (generation == 0 ? "" : "|g\(generation)") + purpose.idSuffix
            let material = SymmetricKey(data: Data(secret.value.utf8))
            key = HKDF<SHA256>.deriveKey(inputKeyMaterial: material, info: Data((purpose.info + suffix).utf8), outputByteCount: 32)
            id = String(Digest.sha256Hex(secret.value + suffix).prefix(8))
        }
    }

    /// What the keys are for: each purpose derives its own keys from the same secret, so a MAC
    /// made for one can never pass for another.
    public enum Purpose: Sendable, Equatable {
        /// CSRF tokens and the other signed values of the request path.
        case tokens
        /// The audit trail's chain (`AUDIT_HMAC_KEY`, or the session secret's).
        case audit

        var info: String { self == .tokens ? "zakops-mac-v1" : "zakops-audit-v1" }
        var idSuffix: String { self == .tokens ? "" : "|audit" }
    }

    public let current: Key
    public let previous: Key?
    /// The generation the keys were derived at.
    public let generation: Int
    public let purpose: Purpose
    private let secrets: (current: Secret, previous: Secret?)

    public init(current: Secret, previous: Secret? = nil, generation: Int = 0, purpose: Purpose = .tokens) {
        self.current = Key(secret: current, generation: generation, purpose: purpose)
        self.previous = previous.map { Key(secret: $0, generation: generation, purpose: purpose) }
        self.generation = generation
        self.purpose = purpose
        secrets = (current, previous)
    }

    /// The same secrets at another generation.
    public func at(generation: Int) -> KeyRing {
        generation == self.generation ? self : KeyRing(current: secrets.current, previous: secrets.previous, generation: generation, purpose: purpose)
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

    /// New secrets (SIGHUP), at the generation in force.
    public func replace(with new: KeyRing) {
        ring.withLock { $0 = new.at(generation: $0.generation) }
    }

    /// Derives the keys at `generation` (the database's), if it is not the one in force; true
    /// if the keys changed.
    @discardableResult
    public func adopt(generation: Int) -> Bool {
        ring.withLock { ring in
            guard ring.generation != generation else { return false }
            ring = ring.at(generation: generation)
            return true
        }
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
