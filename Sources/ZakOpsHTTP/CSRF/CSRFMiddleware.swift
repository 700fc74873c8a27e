import HTTPTypes
import Hummingbird
import Logging
import Metrics
import ZakOpsCore

/// Cross-site request forgery defences for unsafe methods (POST, PUT, PATCH, DELETE):
///
/// 1. Any such request whose `Origin` is present and is neither the server's own nor in
///    `CORS_ORIGINS`, or whose `Sec-Fetch-Site` is `cross-site`, is refused — login, register
///    and reset included (login CSRF).
/// 2. A request authenticated by the session cookie must carry `X-CSRF-Token`, bound to that
///    session and signed by the key ring. Bearer requests need none: a browser never adds one.
public struct CSRFMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    public static let header = HTTPField.Name("X-CSRF-Token")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!

    let keys: KeyRingStore
    /// `CORS_ORIGINS`, plus the origin of `PUBLIC_BASE_URL`.
    let trustedOrigins: Set<String>

    public init(keys: KeyRingStore, trustedOrigins: Set<String>) {
        self.keys = keys
        self.trustedOrigins = trustedOrigins
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard [.post, .put, .patch, .delete].contains(request.method) else {
            return try await next(request, context)
        }
        if let origin = request.headers[.origin], !isTrusted(origin, request: request) {
            throw refusal("cross_origin", context)
        }
        if request.headers[Self.secFetchSite]?.lowercased() == "cross-site" {
            throw refusal("cross_site_fetch", context)
        }
        if context.authenticatedByCookie, let session = context.principal?.sessionTokenHash {
            guard let token = request.headers[Self.header], CSRFToken.isValid(token, for: session, keys: keys.current) else {
                throw refusal("csrf_token", context)
            }
        }
        return try await next(request, context)
    }

    /// An allow-listed origin, or the server's own when it is reached by a loopback name.
    ///
    /// The Host header is chosen by whoever sends the request: "same as Host" is trusted only
    /// for loopback names, so a DNS-rebinding page (`evil.example` resolving to 127.0.0.1)
    /// is not its own trusted origin. Deployed servers are trusted by `PUBLIC_BASE_URL`.
    private func isTrusted(_ origin: String, request: Request) -> Bool {
        if trustedOrigins.contains(origin) { return true }
        guard let authority = request.head.authority, LoopbackHost.matches(authority) else { return false }
        return origin == "http://\(authority)" || origin == "https://\(authority)"
    }

    private func refusal(_ reason: String, _ context: Context) -> AppError {
        Counter(label: "zakops_csrf_refused_total").increment()
        context.logger.warning("security event", metadata: [
            "event": "csrf_refused", "reason": .string(reason), "client_ip": .string(context.clientIP ?? "unknown"),
        ])
        return AppError(.csrfFailed, logDetail: reason)
    }
}
