import HTTPTypes
import Hummingbird
import ZakOpsCore

/// The credential a request presents, seen before authentication by the same rules
/// authentication applies: any `Authorization` header, or a non-empty session cookie outside
/// the session-free paths (`SessionFreePaths`). Authentication either accepts such a credential
/// or refuses it (and the refusal counts against the address), so none escapes both the
/// per-credential and the per-address limits. It says nothing of whether it is valid.
public struct PresentedCredential: Sendable {
    /// The SHA-256 (hex) of the API key or session token, the form both are stored in; of the
    /// whole header for any other `Authorization` text.
    public let hash: String
    /// Whether it has the form of an API key or a session token (only those are named in logs,
    /// and only those are looked up).
    public let isKnownForm: Bool
    /// Whether it is the session cookie (else the `Authorization` header).
    public let isCookie: Bool

    /// The rate-limit key: one session or key gets the same budget from every address.
    public var limitKey: String { "credential:" + hash }

    /// What logs name it by: 16 hex digits of the stored hash, enough to find the session or
    /// key and nothing that could be presented again. Nil for other header text (a Basic
    /// header's hash could be tested against a password list).
    public var reference: String? { isKnownForm ? String(hash.prefix(16)) : nil }

    /// The longest session token or API key text: anything longer is refused unread.
    public static let maxTokenLength = 128

    /// The credential of `request`, or nil when it presents none.
    public init?(in request: Request, sessionCookie: String) {
        if let authorization = request.headers[.authorization] {
            let keyHash = BearerKey.hash(authorization: authorization)
            hash = keyHash ?? Digest.sha256Hex(authorization)
            isKnownForm = keyHash != nil
            isCookie = false
        } else if !SessionFreePaths.contains(request.uri.path), let cookie = request.cookies[sessionCookie], !cookie.value.isEmpty {
            hash = Digest.sha256Hex(cookie.value)
            isKnownForm = cookie.value.utf8.count <= Self.maxTokenLength
            isCookie = true
        } else {
            return nil
        }
    }
}

/// Routes that never authenticate by cookie (login and the other anonymous auth routes: their
/// handlers deal with a cookie themselves). Authentication and the rate limiter share the list.
public enum SessionFreePaths {
    public static let paths: Set<String> = [
        "/api/auth/login", "/api/auth/register", "/api/auth/password/reset/request", "/api/auth/password/reset/confirm",
    ]

    public static func contains(_ path: String) -> Bool { paths.contains(path) }
}

/// Health checks: `/health` and below, by path segment (`//health/live` included), as the
/// router matches them. Neither the rate limiter nor authentication looks at their credentials.
public enum HealthPath {
    public static func matches(_ path: String) -> Bool {
        path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: true).first == "health"
    }
}
