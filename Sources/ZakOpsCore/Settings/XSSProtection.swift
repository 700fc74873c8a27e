

/// `XSS_PROTECTION`: the checklist's `1; mode=block` by default; `off` sends OWASP's current `0`.
public enum XSSProtection: String, Sendable, CaseIterable {
    case block
    case off

    /// The `X-XSS-Protection` header value.
    public var headerValue: String {
        switch self {
        case .block: "1; mode=block"
        case .off: "0"
        }
    }
}
