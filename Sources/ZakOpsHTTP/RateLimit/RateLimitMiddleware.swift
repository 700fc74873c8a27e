import Hummingbird
import HTTPTypes
import ZakOpsCore

/// The checklist's rate limits, applied after authentication so that a principal's budget is
/// the same from every address:
///
/// - unsafe `/api/auth/*` requests (login, logout, register, reset, password change, MFA) count
///   per client IP against `auth`: every request that presents a credential is a POST;
/// - every other `/api/*` request counts against `api`, per principal (user or API key), or
///   per client IP when anonymous, including requests whose credential was refused;
/// - `/health/*` and anything outside `/api` is not limited, except a request whose credential
///   was refused: it counts against `api` per client IP wherever it goes, so key guessing is
///   limited everywhere.
///
/// An IPv6 client counts by its /64: one host commonly holds a whole /64 and could otherwise
/// take a fresh address, and a fresh budget, for every request.
///
/// Allowed responses carry `RateLimit-Policy` and `RateLimit`; refusals are 429 `RATE_LIMITED`.
public struct RateLimitMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    let limiter: RateLimiter
    let auth: RateLimitPolicy
    let api: RateLimitPolicy

    public init(limiter: RateLimiter, auth: RateLimitPolicy, api: RateLimitPolicy) {
        self.limiter = limiter
        self.auth = auth
        self.api = api
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Segments, not a prefix test: `//api/auth/login` reaches the same handler.
        let segments = request.uri.path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: true)
        guard segments.first == "api" || context.credentialRefused else { return try await next(request, context) }
        let outcome: RateLimitOutcome
        if segments.first == "api", segments.count > 1, segments[1] == "auth", ![.get, .head, .options].contains(request.method) {
            outcome = try await limiter.enforce(auth, key: "ip:" + Self.clientKey(context.clientIP), context: context)
        } else {
            let key = context.principal.map { "principal:" + $0.id } ?? "ip:" + Self.clientKey(context.clientIP)
            outcome = try await limiter.enforce(api, key: key, context: context)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as AppError {
            // Refusals further in (401, 403, 422…) still tell the client where it stands.
            throw error.adding(headers: outcome.headers)
        }
        outcome.apply(to: &response.headers)
        return response
    }

    /// The address a client counts under: IPv4 as it is, IPv6 by its /64.
    static func clientKey(_ address: String?) -> String {
        guard let address, let parsed = IPAddress(address) else { return address ?? "unknown" }
        if case .v6 = parsed { return parsed.masked(prefixLength: 64).text + "/64" }
        return parsed.text
    }
}
