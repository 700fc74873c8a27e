import Foundation
import HummingbirdOTP
import Logging
import Metrics
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The rules of signing in and managing one's own credentials.
struct AuthService: Sendable {
    let database: Database
    let sessions: SessionService
    let totp: TOTPService
    let hasher: PasswordHasher
    let keys: KeyRingStore
    let mailer: any Mailer
    let clock: any AppClock
    let backoff: LoginBackoff
    /// The lockdown refuses sign-in to everyone but admins.
    let runtime: RuntimeState
    let logger: Logger

    struct LoginResult: Sendable {
        let token: String
        let session: SessionRecord
        let account: OperatorRecord
        let csrfToken: String
    }

    /// Verifies credentials and opens a new session. Unknown e-mail, wrong password and disabled
    /// account get the same error after the same work (one bcrypt verification). Any session the
    /// client brought is deleted, never adopted. An address in its failure delay (`LoginBackoff`)
    /// gets 429 before any of that work.
    ///
    /// Each outcome is an audit entry (`auth.login`, `auth.login_failed` with the reason class);
    /// the typed e-mail is never recorded, only the account's id when one matched.
    func login(email: String, password: String, totp: String?, broughtToken: String?, clientIP: String?, userAgent: String?,
               requestID: String? = nil) async throws -> LoginResult {
        let agent = userAgent.map { String($0.prefix(256)) }
        func refused(_ accountID: String?, _ reason: String, _ error: AppError) async throws -> Never {
            logger.warning("security event", metadata: ["event": "login_failed", "reason": .string(reason), "client_ip": .string(clientIP ?? "unknown")])
            Counter(label: "zakops_auth_failures_total", dimensions: [("reason", reason)]).increment()
            let change = ChangeContext(signInBy: nil, requestID: requestID, clientIP: clientIP, time: clock.now())
            try await database.transaction { sql in
                try await AuditLog.record(action: "auth.login_failed", targetKind: "operator", targetID: accountID ?? "unknown",
                                          changes: ["reason": FieldChange(before: nil, after: .string(reason)),
                                                    "user_agent": FieldChange(before: nil, after: agent.map(JSONValue.string))],
                                          context: change, in: sql)
            }
            throw error
        }
        switch try await backoff.admit(email: email) {
        case .delayed(let wait):
            logger.warning("security event", metadata: ["event": "login_delayed", "retry_after": .stringConvertible(wait), "client_ip": .string(clientIP ?? "unknown")])
            Counter(label: "zakops_rate_limited_total", dimensions: [("group", "login-backoff")]).increment()
            RefusalConcentration.shared.record(client: clientIP ?? "unknown", at: clock.now())
            throw AppError(.rateLimited, headers: ["Retry-After": String(wait)], logDetail: "login backoff")
        case .admitted(let startedDelay):
            // Counted already: a success below takes the failure back.
            if let startedDelay {
                Counter(label: "zakops_login_lockouts_total").increment()
                logger.warning("security event", metadata: ["event": "login_backoff_started", "delay_seconds": .stringConvertible(Int(startedDelay)), "client_ip": .string(clientIP ?? "unknown")])
            }
        }
        let account = try await database.read { sql in try await OperatorRepository.byEmail(email, in: sql) }
        // bcrypt reads only 72 bytes and stops at a NUL: such input never matches (after the same work).
        let tooLong = password.utf8.count > PasswordPolicy.maximumBytes || password.utf8.contains(0)
        let (verified, needsRehash) = try await hasher.verify(password, against: tooLong ? nil : account?.passwordHash)
        let matches = verified && !tooLong
        guard let account, matches, account.isActive else {
            let reason = account == nil ? "unknown_account" : (matches ? "disabled_account" : "wrong_password")
            try await refused(account?.id, reason, AppError(.invalidCredentials))
        }
        // Only someone who knows the password learns these two answers.
        if account.resetRequired {
            try await refused(account.id, "reset_required", AppError(.passwordResetRequired, logDetail: "forced reset pending"))
        }
        if account.role != .admin, try await runtime.isLockedDown() {
            try await refused(account.id, "lockdown", LockdownMiddleware.refusal)
        }
        if account.totpEnabled {
            guard let totp else { throw AppError(.totpRequired) }
            switch try await self.totp.consume(code: totp, account: account) {
            case .accepted:
                break
            case .rejected, .locked:
                try await refused(account.id, "wrong_totp", AppError(.invalidCredentials))
            }
        }
        var verifiedHash = account.passwordHash
        if needsRehash {
            let upgraded = try await hasher.hash(password)
            // Only if the hash is still the one verified: a rehash racing a password change must
            // not undo the change.
            let replaced = try await database.transaction { sql in
                guard try await OperatorRepository.lockCredentials(account.id, in: sql)?.passwordHash == account.passwordHash else { return false }
                try await OperatorRepository.replaceHash(account.id, with: upgraded, in: sql)
                return true
            }
            if replaced { verifiedHash = upgraded }
        }
        if let broughtToken {
            try await sessions.end(tokenHash: Digest.sha256Hex(broughtToken))
        }
        // The session exists only if the password checked is still the account's password.
        guard let (token, session) = try await sessions.create(operatorID: account.id, verifiedHash: verifiedHash, clientIP: clientIP, userAgent: userAgent) else {
            try await refused(account.id, "credentials_changed", AppError(.invalidCredentials))
        }
        let change = ChangeContext(signInBy: account.id, requestID: requestID, clientIP: clientIP, time: clock.now())
        try await database.transaction { sql in
            try await OperatorRepository.recordLogin(account.id, now: change.time, in: sql)
            try await AuditLog.record(action: "auth.login", targetKind: "session", targetID: session.id,
                                      changes: ["user_agent": FieldChange(before: nil, after: agent.map(JSONValue.string))], context: change, in: sql)
        }
        try await backoff.clear(email: email)
        logger.notice("security event", metadata: ["event": "login_succeeded", "operator_id": .string(account.id), "session_id": .string(session.id)])
        return LoginResult(token: token, session: session, account: account, csrfToken: CSRFToken.issue(for: session.tokenHash, keys: keys.current))
    }

    /// Changes the password after checking the current one; every other session of the
    /// operator is revoked and the operator is told by mail.
    func changePassword(principal: Principal, current: String, new: String, requestID: String? = nil, clientIP: String? = nil) async throws {
        guard let account = try await database.read({ sql in try await OperatorRepository.byID(principal.id, in: sql) }) else { throw AppError(.unauthorized) }
        // A forced reset is ended by the mailed link only: the current password may be the
        // attacker's.
        guard !account.resetRequired else { throw AppError(.passwordResetRequired, logDetail: "forced reset pending") }
        let (matches, _) = try await hasher.verify(current, against: account.passwordHash)
        guard matches else {
            logger.warning("security event", metadata: ["event": "password_change_refused", "operator_id": .string(account.id)])
            throw AppError(.invalidCredentials, field: "current_password", problem: "is incorrect")
        }
        try PasswordPolicy.validate(new, email: account.email, field: "new_password")
        if new == current {
            throw AppError.validation(field: "new_password", problem: "must differ from the current password")
        }
        let hash = try await hasher.hash(new)
        let notice = Mail(to: account.email, subject: "Your ZakOps password was changed",
                          body: "The password of your ZakOps account was changed, and your other sessions were signed out.\nIf this was not you, reset your password and tell your administrator.")
        // One transaction: a crash cannot leave the old sessions alive under the new password.
        let now = clock.now()
        try await database.transaction { [mailer] sql in
            try await OperatorRepository.setPassword(account.id, hash: hash, now: now, in: sql)
            try await SessionService.endAll(operatorID: account.id, keeping: principal.sessionTokenHash, in: sql)
            try await mailer.send(notice, in: sql)
            try await AuditLog.record(action: "auth.password_changed", targetKind: "operator", targetID: account.id, changes: [:],
                                      context: ChangeContext(signInBy: account.id, requestID: requestID, clientIP: clientIP, time: now), in: sql)
        }
        sessions.credentials.invalidate(subject: account.id)
        logger.notice("security event", metadata: ["event": "password_changed", "operator_id": .string(account.id)])
    }
}
