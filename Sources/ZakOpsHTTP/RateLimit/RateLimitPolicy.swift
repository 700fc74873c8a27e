import HTTPTypes

/// A limit: at most `limit` requests per key in any `windowSeconds` (a rolling window).
/// `name` is the group it counts (`auth`, `api`, `login-account`) and the policy name clients
/// see in `RateLimit-Policy`.
public struct RateLimitPolicy: Sendable, Hashable {
    public let name: String
    public let limit: Int
    public let windowSeconds: Int
    /// `RateLimit-Policy` (IETF httpapi rate-limit headers draft): `"auth";q=10;w=60`; made once.
    public let policyHeader: String
    /// The prefix of this policy's keys in a store (`auth|`).
    let keyPrefix: String

    public init(name: String, limit: Int, windowSeconds: Int = 60) {
        self.name = name
        self.limit = limit
        self.windowSeconds = windowSeconds
        policyHeader = "\"\(name)\";q=\(limit);w=\(windowSeconds)"
        keyPrefix = name + "|"
    }
}

/// The verdict on one request: allowed or not, what is left, and when the window resets.
public struct RateLimitOutcome: Sendable {
    public let policy: RateLimitPolicy
    public let allowed: Bool
    public let remaining: Int
    /// Whole seconds until the window next moves on (at least 1): the next bucket boundary.
    public let resetSeconds: Int

    /// `RateLimit` (IETF httpapi rate-limit headers draft): `"auth";r=7;t=42`.
    public var stateHeader: String { "\"\(policy.name)\";r=\(remaining);t=\(resetSeconds)" }

    static let policyField = HTTPField.Name("RateLimit-Policy")!
    static let stateField = HTTPField.Name("RateLimit")!

    /// Sets `RateLimit-Policy` and `RateLimit` on a response.
    public func apply(to headers: inout HTTPFields) {
        headers[Self.policyField] = policy.policyHeader
        headers[Self.stateField] = stateHeader
    }

    /// The same, for an error's headers.
    public var headers: [String: String] {
        ["RateLimit-Policy": policy.policyHeader, "RateLimit": stateHeader]
    }
}
