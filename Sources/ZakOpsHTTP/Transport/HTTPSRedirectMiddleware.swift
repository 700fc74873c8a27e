import HTTPTypes
import Hummingbird
import ZakOpsCore

/// Sends plain-HTTP requests to HTTPS with a 308 (method and body kept), when HTTPS exists:
///
/// - on the plain port while ZakOps itself serves TLS (`redirectsPlainListener`);
/// - on any port when a trusted proxy says the client used `http` (`X-Forwarded-Proto`).
///
/// The target is `origin` (from `PUBLIC_BASE_URL` or the TLS port), never the Host header, so
/// the redirect cannot be pointed elsewhere; path and query are kept. `/health/*` stays on HTTP
/// when `HEALTH_ON_HTTP=true`, for load balancers that only speak HTTP.
public struct HTTPSRedirectMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    /// `https://host[:port]`; nil when there is no HTTPS to send clients to.
    let origin: String?
    let redirectsPlainListener: Bool
    let healthOnHTTP: Bool

    public init(origin: String?, redirectsPlainListener: Bool, healthOnHTTP: Bool) {
        self.origin = origin
        self.redirectsPlainListener = redirectsPlainListener
        self.healthOnHTTP = healthOnHTTP
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin, context.scheme == .http, redirectsPlainListener || context.schemeForwarded,
              !(healthOnHTTP && request.uri.path.hasPrefix("/health/"))
        else {
            return try await next(request, context)
        }
        var location = origin + (request.uri.path.hasPrefix("/") ? request.uri.path : "/" + request.uri.path)
        if let query = request.uri.query { location += "?" + query }
        return Response(status: .permanentRedirect, headers: [.location: location])
    }
}
