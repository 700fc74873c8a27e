import Hummingbird
import HTTPTypes
import Logging
import ZakOpsCore

/// Counts, after authentication, each credential it refused against the client address
/// (`api` policy): the 61st refused credential from one address in a minute is 429, and from
/// then on `RateLimitMiddleware` refuses that address's credentials before they reach the
/// database. An unknown API key is then 401; an unknown session cookie leaves the request
/// anonymous (a browser with an expired cookie still reaches public pages).
public struct CredentialRefusalLimit: RouterMiddleware {
    public typealias Context = AppRequestContext

    let limiter: RateLimiter?
    let api: RateLimitPolicy

    /// - Parameter limiter: nil when rate limiting is off (refused keys are still 401).
    public init(limiter: RateLimiter?, api: RateLimitPolicy) {
        self.limiter = limiter
        self.api = api
    }

    static func key(address: String) -> String { "refused:ip:" + address }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if context.credentialRefused || context.sessionCookieRefused, let limiter {
            try await limiter.enforce(api, key: Self.key(address: RateLimitMiddleware.clientKey(context.clientIP)), context: context)
        }
        if context.credentialRefused { throw AppError(.unauthorized) }
        return try await next(request, context)
    }
}
