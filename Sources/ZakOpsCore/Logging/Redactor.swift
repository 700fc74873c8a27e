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

    /// Whether a field named `key` holds a secret by its name alone.
    public static func isSensitiveKey(_ key: String) -> Bool {
        let normalized = key.lowercased().filter { $0 != "-" && $0 != "_" && $0 != "." }
        return sensitiveKeyFragments.contains { normalized.contains($0) }
    }

    /// The value of field `key`, redacted by name or scrubbed as text.
    public func value(forKey key: String, _ value: String) -> String {
        Self.isSensitiveKey(key) ? Self.redacted : scrub(value)
    }

    /// Free text with every secret-looking part replaced and e-mail addresses masked.
    public func scrub(_ text: String) -> String {
        var output = text
        for secret in secrets where output.contains(secret) {
            output = output.replacingOccurrences(of: secret, with: Self.redacted)
        }
        // Cheap guards first: most log text contains none of these markers.
        if output.contains("://") {
            output = output.replacing(/([A-Za-z][A-Za-z0-9+.\-]*:\/\/)[^\/\s@]*@/) { "\($0.output.1)\(Self.redacted)@" }
        }
        if output.localizedCaseInsensitiveContains("bearer") || output.localizedCaseInsensitiveContains("basic ") {
            output = output.replacing(/(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+\/=]+/) { "\($0.output.1) \(Self.redacted)" }
        }
        if output.contains("zk_") {
            output = output.replacing(/zk_[A-Za-z0-9_\-]+/) { _ in "zk_" + Self.redacted }
        }
        if output.contains("=") || output.contains(":") {
            output = output.replacing(
                /(?i)\b([a-z_\-]*(?:password|passwd|secret|token|api[_\-]?key|session|cookie|authorization)[a-z_\-]*)("?\s*[=:]\s*)("[^"]*"|[^\s&,;"]+)/
            ) { match in
                let value = String(match.output.3)
                return value == Self.redacted ? String(match.output.0) : "\(match.output.1)\(match.output.2)\(Self.redacted)"
            }
        }
        if output.contains("@") {
            output = output.replacing(/([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-])[A-Za-z0-9.\-]*(\.[A-Za-z]{2,})/) { match in
                "\(match.output.1)***@\(match.output.2)***\(match.output.3)"
            }
        }
        return output
    }
}
