import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// `/api/auth/*`: login, logout, the current principal, CSRF tokens, password change and the
/// operator's own sessions.
struct AuthController: Sendable {
    let service: AuthService
    let sessions: SessionService
    let keys: KeyRingStore
    let sessionMaxAge: Int
    /// Logins per target account per minute, across all addresses (nil when limits are off).
    let accountLimit: (limiter: RateLimiter, policy: RateLimitPolicy)?

    struct LoginRequest: Decodable {
        let email: String
        let password: String
        let totp: String?
    }

    struct LoginResponse: ResponseEncodable {
        let `operator`: OperatorResponse
        let csrfToken: String
        enum CodingKeys: String, CodingKey {
            case `operator`
            case csrfToken = "csrf_token"
        }
    }

    /// An operator as the API shows it (login and registration answers).
    struct OperatorResponse: ResponseEncodable {
        let id: String
        let email: String
        let name: String
        let role: String
    }

    struct CSRFResponse: ResponseEncodable {
        let csrfToken: String
        enum CodingKeys: String, CodingKey { case csrfToken = "csrf_token" }
    }

    struct MeResponse: ResponseEncodable {
        let id: String
        let email: String?
        let name: String
        let role: String
        let kind: String
        let mustResetPassword: Bool
        enum CodingKeys: String, CodingKey {
            case id, email, name, role, kind
            case mustResetPassword = "must_reset_password"
        }
    }

    struct PasswordChangeRequest: Decodable {
        let currentPassword: String
        let newPassword: String
        enum CodingKeys: String, CodingKey {
            case currentPassword = "current_password"
            case newPassword = "new_password"
        }
    }

    struct SessionView: Encodable {
        let id: String
        let createdAt: String
        let lastSeenAt: String
        let clientIP: String?
        let userAgent: String?
        let current: Bool
        enum CodingKeys: String, CodingKey {
            case id, current
            case createdAt = "created_at"
            case lastSeenAt = "last_seen_at"
            case clientIP = "client_ip"
            case userAgent = "user_agent"
        }
    }

    struct SessionsResponse: ResponseEncodable {
        let sessions: [SessionView]
    }

    func register(on routes: SecuredRoutes) {
        routes.post("/api/auth/login", .publicAuth) { request, context in try await login(request, context) }
        // Public, so a browser whose session already ended still gets its cookie cleared.
        routes.post("/api/auth/logout", .publicAuth) { request, context in try await logout(request, context) }
        routes.get("/api/auth/me", .authenticated(allowedWhileResetPending: true)) { _, context in try me(context) }
        routes.get("/api/auth/csrf", .authenticated(allowedWhileResetPending: true)) { _, context in try csrf(context) }
        routes.post("/api/auth/password/change", .authenticated(allowedWhileResetPending: true)) { request, context in
            try await changePassword(request, context)
        }
        routes.get("/api/auth/sessions", .authenticated(allowedWhileResetPending: false)) { _, context in try await listSessions(context) }
        routes.delete("/api/auth/sessions/{id}", .authenticated(allowedWhileResetPending: false)) { _, context in try await revokeSession(context) }
        routes.post("/api/auth/sessions/revoke-others", .authenticated(allowedWhileResetPending: false)) { _, context in
            try await revokeOthers(context)
        }
    }

    private func login(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let input = try await request.decodeJSON(as: LoginRequest.self, context: context)
        try Validate.email(input.email, field: "email")
        try Validate.length(input.password, field: "password", max: 1024)
        // Per target account, so that a credential-stuffing run spread over many addresses is
        // slowed as well; unknown addresses count the same, keyed by a hash of the address.
        if let accountLimit {
            try await accountLimit.limiter.enforce(accountLimit.policy, key: LoginBackoff.subject(input.email), context: context)
        }
        let result = try await service.login(
            email: input.email, password: input.password, totp: input.totp,
            broughtToken: SessionCookie.token(in: request),
            clientIP: context.clientIP, userAgent: request.headers[.userAgent], requestID: context.requestID
        )
        let body = LoginResponse(
            operator: OperatorResponse(id: result.account.id, email: result.account.email, name: result.account.name, role: result.account.role.rawValue),
            csrfToken: result.csrfToken
        )
        var response = try body.response(from: request, context: context)
        response.headers[.setCookie] = SessionCookie.set(result.token, maxAge: sessionMaxAge)
        return response
    }

    private func logout(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        if let principal = context.principal, let hash = principal.sessionTokenHash {
            try await sessions.end(tokenHash: hash, by: ChangeContext(principal: principal, request: context, time: sessions.clock.now()))
            context.logger.notice("security event", metadata: ["event": "session_revoked", "session_id": .string(context.principal?.sessionID ?? "")])
        }
        return Response(status: .noContent, headers: [
            .setCookie: SessionCookie.expired,
            HTTPField.Name("Clear-Site-Data")!: "\"cookies\", \"storage\"",
        ])
    }

    private func me(_ context: AppRequestContext) throws -> MeResponse {
        let principal = try context.requirePrincipal()
        return MeResponse(
            id: principal.id, email: principal.email, name: principal.name, role: principal.role.rawValue,
            kind: principal.kind.rawValue, mustResetPassword: principal.mustResetPassword
        )
    }

    private func csrf(_ context: AppRequestContext) throws -> CSRFResponse {
        guard let session = context.principal?.sessionTokenHash else {
            throw AppError(.unauthorized, logDetail: "CSRF tokens are for cookie sessions")
        }
        return CSRFResponse(csrfToken: CSRFToken.issue(for: session, keys: keys.current))
    }

    private func changePassword(_ request: Request, _ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
        guard principal.kind == .user else { throw AppError(.forbidden) }
        let input = try await request.decodeJSON(as: PasswordChangeRequest.self, context: context)
        try Validate.length(input.currentPassword, field: "current_password", max: 1024)
        try Validate.length(input.newPassword, field: "new_password", max: 1024)
        try await service.changePassword(principal: principal, current: input.currentPassword, new: input.newPassword,
                                          requestID: context.requestID, clientIP: context.clientIP)
        return .noContent
    }

    private func listSessions(_ context: AppRequestContext) async throws -> SessionsResponse {
        let principal = try context.requirePrincipal()
        let records = try await sessions.list(operatorID: principal.id)
        return SessionsResponse(sessions: records.map { record in
            SessionView(
                id: record.id, createdAt: record.createdAt, lastSeenAt: record.lastSeenAt, clientIP: record.clientIP,
                userAgent: record.userAgent, current: record.tokenHash == principal.sessionTokenHash
            )
        })
    }

    private func revokeSession(_ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
        let id = try context.parameters.require("id")
        guard try await sessions.end(id: id, operatorID: principal.id, by: ChangeContext(principal: principal, request: context, time: sessions.clock.now()))
        else { throw AppError(.notFound) }
        context.logger.notice("security event", metadata: ["event": "session_revoked", "session_id": .string(id)])
        return .noContent
    }

    private func revokeOthers(_ context: AppRequestContext) async throws -> HTTPResponse.Status {
        let principal = try context.requirePrincipal()
        try await sessions.endAll(operatorID: principal.id, keeping: principal.sessionTokenHash,
                                  by: ChangeContext(principal: principal, request: context, time: sessions.clock.now()))
        context.logger.notice("security event", metadata: ["event": "sessions_revoked", "operator_id": .string(principal.id)])
        return .noContent
    }

}
