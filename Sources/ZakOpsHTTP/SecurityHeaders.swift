import HTTPTypes
import ZakOpsCore

/// The one place that owns the security headers: the checklist's six, plus `Cache-Control:
/// no-store` on the API. `SecurityHeadersMiddleware` applies them to every response.
public struct SecurityHeaders: Sendable {
    /// `default-src 'self'` is the checklist's value; the two directives after it only tighten it
    /// (no framing, no plugins), matching X-Frame-Options: DENY.
    public static let contentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; object-src 'none'"
    public static let strictTransportSecurity = "max-age=31536000; includeSubDomains"

    public let fields: [HTTPField]

    public init(xssProtection: XSSProtection) {
        fields = [
            HTTPField(name: .init("X-Content-Type-Options")!, value: "nosniff"),
            HTTPField(name: .init("X-Frame-Options")!, value: "DENY"),
            HTTPField(name: .init("X-XSS-Protection")!, value: xssProtection.headerValue),
            HTTPField(name: .init("Referrer-Policy")!, value: "strict-origin-when-cross-origin"),
            HTTPField(name: .contentSecurityPolicy, value: Self.contentSecurityPolicy),
            HTTPField(name: .strictTransportSecurity, value: Self.strictTransportSecurity),
        ]
    }

    /// Sets every header on `headers`, replacing any value a handler set.
    public func apply(to headers: inout HTTPFields, path: String) {
        for field in fields {
            headers[field.name] = field.value
        }
        if path == "/api" || path.hasPrefix("/api/") {
            headers[.cacheControl] = "no-store"
        }
        headers[.server] = nil
    }
}
