import Hummingbird
import HTTPTypes
import Logging
import ZakOpsCore

/// The checklist's rate limits. They run before authentication, so a request over a limit is
/// refused without a database query:
///
/// - unsafe `/api/auth/*` requests (login, logout, register, reset, password change, MFA) count
///   per client IP against `auth`;
/// - every other `/api/*` request counts against `api`: per presented credential (the session
///   cookie or the `Authorization` header, `PresentedCredential`), so one session or key has
///   the same budget from every address, or per client IP when it presents none;
/// - a client address whose refused credentials reached the `api` limit in this window
///   (counted after authentication by `CredentialRefusalLimit`) is refused at once whenever it
///   presents a credential again, on any path: guessing keys or cookies stops reaching the
///   database;
/// - `/health/*` is never limited, and nothing there looks at credentials.
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
    let sessionCookie: String

    public init(limiter: RateLimiter, auth: RateLimitPolicy, api: RateLimitPolicy, sessionCookie: String) {
        self.limiter = limiter
        self.auth = auth
        self.api = api
        self.sessionCookie = sessionCookie
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Segments, not a prefix test: `//api/auth/login` reaches the same handler.
        let segments = request.uri.path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: true)
        if HealthPath.matches(request.uri.path) { return try await next(request, context) }
        let address = Self.clientKey(context.clientIP)
        let credential = PresentedCredential(in: request, sessionCookie: sessionCookie)
        var context = context
        if let credential {
            // Authentication looks the credential up by this hash instead of hashing it again.
            context.presentedCredential = credential
            if let reference = credential.reference { context.logger[metadataKey: "credential_ref"] = .string(reference) }
            // An address whose refused credentials passed the limit: refused before any lookup.
            try limiter.refuseIfExhausted(api, key: CredentialRefusalLimit.key(address: address), context: context)
        }
        let outcome: RateLimitOutcome
        if segments.first == "api", segments.count > 1, segments[1] == "auth", ![.get, .head, .options].contains(request.method) {
            outcome = try await limiter.enforce(auth, key: "ip:" + address, context: context)
        } else {
            guard segments.first == "api" else { return try await next(request, context) }
            outcome = try await limiter.enforce(api, key: credential?.limitKey ?? "ip:" + address, context: context)
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
    public static func clientKey(_ address: String?) -> String {
        guard let address, let parsed = IPAddress(address) else { return address ?? "unknown" }
        if case .v6 = parsed { return parsed.masked(prefixLength: 64).text + "/64" }
        return parsed.text
    }
}
