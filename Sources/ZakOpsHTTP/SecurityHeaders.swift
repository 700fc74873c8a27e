import HTTPTypes
import ZakOpsCore

/// The one place that owns the security headers: the checklist's six, plus `Cache-Control:
/// no-store, max-age=0` and `Pragma: no-cache` (what drheader's default policy asks for, and
/// what HTTP/1.0 caches read). `SecurityHeadersMiddleware` applies them to every response.
public struct SecurityHeaders: Sendable {
    /// `default-src 'self'` is the checklist's value; the two directives after it only tighten it
    /// (no framing, no plugins), matching X-Frame-Options: DENY.
    public static let contentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; object-src 'none'"
    public static let strictTransportSecurity = "max-age=31536000; includeSubDomains"
    public static let cacheControl = "no-store, max-age=0"

    public let fields: [HTTPField]

    public init(xssProtection: XSSProtection) {
        fields = [
            HTTPField(name: .init("X-Content-Type-Options")!, value: "nosniff"),
            HTTPField(name: .init("X-Frame-Options")!, value: "DENY"),
            HTTPField(name: .init("X-XSS-Protection")!, value: xssProtection.headerValue),
            HTTPField(name: .init("Referrer-Policy")!, value: "strict-origin-when-cross-origin"),
            HTTPField(name: .contentSecurityPolicy, value: Self.contentSecurityPolicy),
            HTTPField(name: .strictTransportSecurity, value: Self.strictTransportSecurity),
            HTTPField(name: .cacheControl, value: Self.cacheControl),
            HTTPField(name: .init("Pragma")!, value: "no-cache"),
        ]
    }

    /// Sets every header on `headers`, replacing any value a handler set.
    ///
    /// `no-store` goes on every response, not only under `/api`: a path test could be dodged
    /// (`//api/…` reaches the same handlers), and nothing ZakOps serves should sit in a cache.
    public func apply(to headers: inout HTTPFields) {
        // A fingerprinted console asset (its handler sets the marker, which never leaves the
        // server) may be kept by browsers; everything else is no-store.
        let immutable = headers[Self.immutableMarker] != nil
        headers[Self.immutableMarker] = nil
        for field in fields {
            headers[field.name] = field.value
        }
        if immutable {
            headers[.cacheControl] = Self.immutableCacheControl
            headers[.init("Pragma")!] = nil
        }
        headers[.server] = nil
    }

    /// Set by a handler whose response lives at an address that changes with its content.
    public static let immutableMarker = HTTPField.Name("X-ZakOps-Immutable")!
    public static let immutableCacheControl = "public, max-age=31536000, immutable"
}
