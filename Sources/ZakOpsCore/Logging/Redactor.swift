import Foundation

/// The redaction layer every log line passes through.
///
/// It guarantees that credentials never reach the log: values under sensitive field names are
/// replaced, and free text is scrubbed of bearer tokens, API keys, URL credentials,
/// `name=value` secrets, the server's own secret values and e-mail addresses (masked).
/// Control characters are escaped later by the JSON encoder.
public struct Redactor: Sendable {
    public static let redacted = "[REDACTED]"

    /// Field-name fragments (lower-case, without `-` and `_`) whose values are always redacted.
    static let sensitiveKeyFragments = [
        "authorization", "cookie", "password", "passwd", "secret", "token", "apikey",
        "credential", "sessionid", "privatekey", "databaseurl", "totp", "otp",
    ]

    private let secrets: [String]

    /// - Parameter secrets: values that must never appear anywhere in a line (for example the
    ///   session secret and the database password). Values shorter than 6 characters are ignored,
    ///   since replacing them would shred ordinary text.
    public init(secrets: [String] = []) {
        self.secrets = secrets.filter { $0.count >= 6 }.sorted { $0.count > $1.count }
    }

    /// A copy that also redacts `more`.
    public func adding(secrets more: [String]) -> Redactor {
        Redactor(secrets: secrets + more)
    }

    /// Field names ZakOps itself uses that never hold a secret (checked first: they are on every
    /// request line).
    static let knownSafeKeys: Set<String> = [
        "method", "route", "status", "duration_ms", "client_ip", "hb.request.id", "request_id",
        "error_code", "error_type", "error_detail", "field", "version", "versions", "environment",
        "address", "database", "reason",
        // The first 16 hex digits of a credential's stored SHA-256 (`PresentedCredential`): it
        // finds the session or key, and cannot be presented.
        "credential_ref",
        // Who an authenticated request acted for (an operator's or service account's public id).
        "principal_id",
    ]

    /// Whether a field named `key` holds a secret by its name alone.
    public static func isSensitiveKey(_ key: String) -> Bool {
        if knownSafeKeys.contains(key) { return false }
        let normalized = key.lowercased().filter { $0 != "-" && $0 != "_" && $0 != "." }
        return sensitiveKeyFragments.contains { normalized.contains($0) }
    }


    /// Free text with every secret-looking part replaced and e-mail addresses masked.
    public func scrub(_ text: String) -> String {
        var output = text
        for secret in secrets where Self.contains(output, secret) {
            output = output.replacingOccurrences(of: secret, with: Self.redacted)
        }
        // One pass finds which patterns can occur at all; most log text has none of them,
        // and this runs for every field of every request line.
        let markers = TextMarkers(output)
        if markers.isEmpty { return output }
        if markers.contains(.url) {
            // Up to the last `@` of the authority: a raw `@` inside a password must not end it.
            output = output.replacing(/([A-Za-z][A-Za-z0-9+.\-]*:\/\/)[^\/\s?#]*@/) { "\($0.output.1)\(Self.redacted)@" }
        }
        if markers.contains(.authScheme) {
            output = output.replacing(/(?i)\bbearer\s+[A-Za-z0-9\-._~+\/=]+/) { _ in "Bearer \(Self.redacted)" }
            // Basic credentials are base64: require a token of that shape, not any word.
            output = output.replacing(/(?i)\bbasic\s+[A-Za-z0-9+\/]{8,}={0,2}/) { _ in "Basic \(Self.redacted)" }
        }
        if markers.contains(.apiKey) {
            output = output.replacing(/zk_[A-Za-z0-9_\-]+/) { _ in "zk_" + Self.redacted }
        }
        if markers.contains(.assignment) {
            // Whole header values: a Cookie or Authorization line is a credential to its end.
            output = output.replacing(/(?im)\b((?:set-)?cookie|authorization|x-csrf-token)(\s*:\s*)[^\r\n]+/) { match in
                "\(match.output.1)\(match.output.2)\(Self.redacted)"
            }
            // `name=value`, `name: value` and `"name": "value"` where the name says secret; quoted
            // values may contain escaped quotes.
            output = output.replacing(
                /(?i)\b([a-z0-9_.\-]*(?:password|passwd|secret|token|api[_\-]?key|session|cookie|authorization|credential)[a-z0-9_.\-]*)("?\s*[=:]\s*)("(?:[^"\\]|\\.)*"|[^\s&,;"]+)/
            ) { match in
                let value = String(match.output.3)
                return value == Self.redacted ? String(match.output.0) : "\(match.output.1)\(match.output.2)\(Self.redacted)"
            }
        }
        if markers.contains(.email) {
            output = output.replacing(/([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-])[A-Za-z0-9.\-]*(\.[A-Za-z]{2,})/) { match in
                "\(match.output.1)***@\(match.output.2)***\(match.output.3)"
            }
        }
        return output
    }

    /// Byte-wise substring search (no Unicode normalisation: secrets are compared as bytes).
    static func contains(_ text: String, _ needle: String) -> Bool {
        var text = text
        var needle = needle
        return text.withUTF8 { haystack in
            needle.withUTF8 { pattern in
                guard !pattern.isEmpty, haystack.count >= pattern.count else { return false }
                let first = pattern[0]
                for index in 0...(haystack.count - pattern.count) where haystack[index] == first {
                    if memcmp(haystack.baseAddress! + index, pattern.baseAddress!, pattern.count) == 0 { return true }
                }
                return false
            }
        }
    }
}

/// Which secret-looking patterns a text can contain, found in one pass over its bytes.
struct TextMarkers: OptionSet {
    let rawValue: UInt8
    static let url = TextMarkers(rawValue: 1)
    static let authScheme = TextMarkers(rawValue: 2)
    static let apiKey = TextMarkers(rawValue: 4)
    static let assignment = TextMarkers(rawValue: 8)
    static let email = TextMarkers(rawValue: 16)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ text: String) {
        var text = text
        self = text.withUTF8 { Self.scan($0) }
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> TextMarkers {
        var found: TextMarkers = []
        for index in 0..<bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "@"):
                found.insert(.email)
            case UInt8(ascii: "="):
                found.insert(.assignment)
            case UInt8(ascii: ":"):
                found.insert(.assignment)
                if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "/"), bytes[index + 2] == UInt8(ascii: "/") {
                    found.insert(.url)
                }
            case UInt8(ascii: "z"):
                if index + 2 < bytes.count, bytes[index + 1] == UInt8(ascii: "k"), bytes[index + 2] == UInt8(ascii: "_") {
                    found.insert(.apiKey)
                }
            case UInt8(ascii: "b"), UInt8(ascii: "B"):
                if Self.hasPrefix(bytes, at: index, "bearer") || Self.hasPrefix(bytes, at: index, "basic") {
                    found.insert(.authScheme)
                }
            default:
                break
            }
        }
        return found
    }

    /// Case-insensitive ASCII prefix test at `index`.
    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        let pointer = word.utf8Start
        for offset in 0..<count where bytes[index + offset] | 0x20 != pointer[offset] {
            return false
        }
        return true
    }
}
