import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// Establishes who the request acts for.
///
/// - `Authorization: Bearer zk_…` authenticates by API key alone; cookies on such a request
///   are ignored. A bad key leaves the request anonymous and marked `credentialRefused`:
///   `CredentialRefusalLimit` (next) charges it to the client address and answers 401
///   whatever the route.
/// - Otherwise the session cookie, if valid, names the operator.
/// - The public auth routes never adopt a cookie's session (login replaces it).
/// - With `AUTH_REQUIRED=false` (development only) an anonymous request acts as the built-in
///   development admin.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let sessions: SessionService
    let serviceAccounts: ServiceAccountService
    let clock: any AppClock
    let developmentAdmin: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Health checks never look at credentials: a probe costs no query, whatever it sends.
        if HealthPath.matches(request.uri.path) { return try await next(request, context) }
        var context = context
        if let authorization = request.headers[.authorization] {
            // The rate limiter already hashed the header: nil there means not a key's form.
            let keyHash = context.presentedCredential.map { $0.isKnownForm ? $0.hash : nil } ?? BearerKey.hash(authorization: authorization)
            context.principal = try await principal(keyHash: keyHash, context: context)
            context.credentialRefused = context.principal == nil
            if let principal = context.principal { context.actor.record(principalID: principal.id, credentialHash: keyHash) }
        } else if let presented = context.presentedCredential, presented.isCookie {
            try await adoptSession(hash: presented.isKnownForm ? presented.hash : nil, context: &context)
        } else if !SessionFreePaths.contains(request.uri.path), let cookie = SessionCookie.value(in: request) {
            try await adoptSession(hash: SessionCookie.token(cookie).map(Digest.sha256Hex), context: &context)
        } else if developmentAdmin, request.head.authority.map(LoopbackHost.matches) == true {
            // Only for requests addressed to this machine by a loopback name (no DNS rebinding).
            context.principal = .developmentAdmin
            context.actor.record(principalID: Principal.developmentAdmin.id, credentialHash: nil)
        }
        return try await next(request, context)
    }

    /// The session with this token hash becomes the request's principal; a cookie that is not
    /// a token's shape (nil) is refused like one naming no session.
    private func adoptSession(hash: String?, context: inout Context) async throws {
        if let hash, let principal = try await sessions.resolve(tokenHash: hash) {
            context.principal = principal
            context.authenticatedByCookie = true
            context.actor.record(principalID: principal.id, credentialHash: hash)
        } else {
            context.sessionCookieRefused = true
        }
    }

    private func principal(keyHash: String?, context: Context) async throws -> Principal? {
        guard let keyHash, let principal = try await serviceAccounts.principal(keyHash: keyHash, now: clock.now()) else {
            context.logger.warning("security event", metadata: ["event": "api_key_refused", "client_ip": .string(context.clientIP ?? "unknown")])
            return nil
        }
        return principal
    }
}
