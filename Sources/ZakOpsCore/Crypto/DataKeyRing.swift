import Crypto
import Foundation

/// Encryption of secrets the server must read back (TOTP seeds, webhook signing secrets, mail
/// that carries a reset or invitation link): AES-256-GCM under `DATA_ENCRYPTION_KEY`, with
/// `DATA_ENCRYPTION_KEY_PREVIOUS` still opening what it sealed until `zakops secrets rotate`
/// has re-sealed everything under the current key.
///
/// A sealed value is `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. The key id (8 hex
/// digits of SHA-256 of the key) picks the key; the *context* (for example `totp:opr_…`) is
/// authenticated data, so a value copied into another row or another column does not open.
public struct DataKeyRing: Sendable {
    public struct Key: Sendable {
        public let id: String
        let key: SymmetricKey

        init(bytes: Data) {
            key = SymmetricKey(data: bytes)
            id = String(Digest.sha256Hex(bytes.base64EncodedString()).prefix(8))
        }
    }

    public let current: Key
    public let previous: Key?
    /// True when the key was derived from the session secret (development without
    /// `DATA_ENCRYPTION_KEY`); preflight refuses that in production.
    public let isDerived: Bool

    static let prefix = "enc:v1:"

    /// Keys from their settings' text: 32 random bytes in standard base64 each.
    public init(current: Secret, previous: Secret? = nil) throws {
        self.current = Key(bytes: try Self.keyBytes(current, setting: "DATA_ENCRYPTION_KEY"))
        self.previous = try previous.map { Key(bytes: try Self.keyBytes($0, setting: "DATA_ENCRYPTION_KEY_PREVIOUS")) }
        isDerived = false
    }

    /// A key derived from the session secret, for development without `DATA_ENCRYPTION_KEY`.
    public init(derivedFrom secret: Secret) {
        let derived = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data(secret.value.utf8)),
                                              info: Data("zakops-data-v1".utf8), outputByteCount: 32)
        current = Key(bytes: derived.withUnsafeBytes { Data($0) })
        previous = nil
        isDerived = true
    }

    /// Whether `text` is 32 bytes in base64 (the check the loader and preflight share).
    public static func keyBytes(_ text: Secret, setting: String) throws -> Data {
        guard let data = Data(base64Encoded: text.value.trimmingCharacters(in: .whitespacesAndNewlines)), data.count == 32 else {
            throw SettingsError(setting: setting, reason: "must be 32 random bytes in base64 (for example: openssl rand -base64 32)")
        }
        return data
    }

    /// Seals `plaintext` under the current key, bound to `context`.
    public func seal(_ plaintext: String, context: String) throws -> String {
        let box = try AES.GCM.seal(Data(plaintext.utf8), using: current.key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw DataKeyError.cannotSeal }
        return Self.prefix + current.id + ":" + Base64URL.encode(combined)
    }

    /// Opens a sealed value bound to `context`. A value written before encryption existed (no
    /// `enc:` prefix) is returned as it is: `zakops secrets rotate` seals those.
    public func open(_ stored: String, context: String) throws -> String {
        guard stored.hasPrefix(Self.prefix) else { return stored }
        let rest = stored.dropFirst(Self.prefix.count)
        let parts = rest.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let bytes = Base64URL.decode(String(parts[1])) else { throw DataKeyError.malformed }
        let key: Key
        if parts[0] == current.id {
            key = current
        } else if let previous, parts[0] == previous.id {
            key = previous
        } else {
            throw DataKeyError.unknownKey
        }
        do {
            let box = try AES.GCM.SealedBox(combined: bytes)
            return String(decoding: try AES.GCM.open(box, using: key.key, authenticating: Data(context.utf8)), as: UTF8.self)
        } catch {
            throw DataKeyError.notAuthentic
        }
    }

    /// Whether `stored` is sealed under the current key (nothing to do for a rotation).
    public func isCurrent(_ stored: String) -> Bool {
        stored.hasPrefix(Self.prefix + current.id + ":")
    }

    /// Whether `stored` is sealed at all.
    public static func isSealed(_ stored: String) -> Bool {
        stored.hasPrefix(prefix)
    }
}

/// Why a sealed value did not open. Never carries the value.
public enum DataKeyError: Error, Sendable, Equatable {
    case cannotSeal
    case malformed
    /// Sealed under a key that is neither `DATA_ENCRYPTION_KEY` nor `_PREVIOUS`.
    case unknownKey
    /// Changed, or moved from another row (the context does not match).
    case notAuthentic
}
