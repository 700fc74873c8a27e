import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// The data-breach containment on the request path: while the lockdown is on, every request
/// that acts for a principal other than an admin operator is refused with 503 `LOCKDOWN` and
/// `Retry-After` — operators' sessions and every API key alike (a service account is never an
/// admin operator). Health checks are answered before authentication and are unaffected;
/// anonymous requests go on to be refused (401) or to sign in, where a non-admin is refused too.
struct LockdownMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let runtime: RuntimeState
    /// A refused request's use of its credential is withdrawn before it is written.
    let lastSeen: LastSeenRecorder

    /// What a refused client is told to wait, in seconds.
    static let retryAfter = "120"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Health checks touch nothing (they must answer while the database is away).
        if HealthPath.matches(request.uri.path) { return try await next(request, context) }
        // Every other request, not only non-admins': the signing keys' generation is read here
        // too, before CSRF checks a token or a login signs one.
        try await runtime.ensureLoaded()
        // Signing out is always allowed: it only ends the caller's own session.
        if let principal = context.principal, !principal.isAdminOperator, runtime.lockdown, request.uri.path != "/api/auth/logout" {
            context.logger.warning("security event", metadata: ["event": "lockdown_refused", "principal_id": .string(principal.id)])
            if let hash = context.presentedCredential?.hash ?? principal.sessionTokenHash { lastSeen.withdraw(credentialHash: hash) }
            throw Self.refusal
        }
        return try await next(request, context)
    }

    static var refusal: AppError { AppError(.lockdown, headers: ["Retry-After": retryAfter], logDetail: "lockdown") }
}

extension Principal {
    /// An operator with the admin role (never a service account, whatever its role).
    var isAdminOperator: Bool { kind == .user && role == .admin }
}
