import Foundation
import Logging
import ZakOpsCore
import ZakOpsStore

/// Password resets by e-mailed link. Tokens are 256 random bits, stored hashed, single use,
/// valid 30 minutes; a newer request voids older tokens, except within a minute of the last
/// (repeated requests cannot keep voiding the link just sent). Each step commits with its mail.
struct PasswordResetService: Sendable {
    let database: Database
    let hasher: PasswordHasher
    let mailer: any Mailer
    let clock: any AppClock
    /// A completed reset ends any failed-login delay of the account.
    let backoff: LoginBackoff
    /// Dropped for the operator once the reset ends their sessions.
    let credentials: CredentialCache
    let publicBaseURL: String
    let logger: Logger

    static let lifetime: TimeInterval = 30 * 60
    /// How long a fresh reset token stands before another request may replace it.
    static let cooldown: TimeInterval = 60

    /// Creates a token and mails the link, if the address has an active account. Never throws:
    /// it runs after the request was answered, whatever the outcome.
    func request(email: String, requestedAt: Date, origin: ChangeContext? = nil) async {
        do {
            guard let account = try await database.read({ sql in try await OperatorRepository.byEmail(email, in: sql) }), account.isActive else { return }
            let token = Base64URL.encode(Data(RandomToken.bytes(32)))
            let link = Mail(
                to: account.email,
                subject: "Reset your ZakOps password",
                body: "Someone asked to reset the password of your ZakOps account. If it was you, open this link within 30 minutes:\n\n\(PasswordLink.url(base: publicBaseURL, token: token))\n\nIf it was not you, ignore this message; your password has not changed."
            )
            guard try await replaceToken(operatorID: account.id, tokenHash: Digest.sha256Hex(token), requestedAt: requestedAt, link: link, origin: origin)
            else { return }
            logger.notice("security event", metadata: ["event": "password_reset_requested", "operator_id": .string(account.id)])
        } catch {
            logger.error("password reset could not be issued", metadata: ["error_type": .string(String(describing: type(of: error)))])
        }
    }

    /// Stores a new token's hash, voids the operator's older ones and queues the `link` mail,
    /// in one transaction. Requests are ordered by when they arrived, not by when this runs:
    /// if a later request's token is already stored, or one is within the cooldown, this one
    /// is dropped and false is returned.
    @discardableResult
    func replaceToken(operatorID: String, tokenHash: String, requestedAt: Date, link: Mail?, origin: ChangeContext? = nil) async throws -> Bool {
        try await database.transaction { [mailer] sql in
            // The operator row is the lock that orders concurrent requests.
            _ = try await OperatorRepository.lockCredentials(operatorID, in: sql)
            guard try await !ResetTokenRepository.hasUnused(operatorID: operatorID, createdAfter: requestedAt.addingTimeInterval(-Self.cooldown), in: sql) else {
                return false
            }
            try await ResetTokenRepository.replace(operatorID: operatorID, tokenHash: tokenHash, now: requestedAt,
                                                   expiresAt: requestedAt.addingTimeInterval(Self.lifetime), in: sql)
            if let link { try await mailer.send(link, in: sql) }
            if let origin {
                try await AuditLog.record(action: "auth.password_reset_requested", targetKind: "operator", targetID: operatorID, changes: [:], context: origin, in: sql)
            }
            return true
        }
    }

    /// Sets the new password with a usable token: the token used, the hash set, every session
    /// ended and the notice queued in one transaction. A token works once even when confirmed
    /// twice at the same moment, and a crash leaves either the old password and a usable token,
    /// or all of it done.
    func confirm(token: String, newPassword: String, origin: ChangeContext? = nil) async throws {
        let now = clock.now()
        let invalid = AppError.validation(field: "token", problem: "is invalid or has expired")
        let tokenHash = Digest.sha256Hex(token)
        // Check the password rules before using up the token, so a rejected password does not
        // cost the user their link.
        let account = try await database.read { sql -> OperatorRecord? in
            guard let pending = try await ResetTokenRepository.usableOperator(tokenHash: tokenHash, now: now, in: sql) else { return nil }
            return try await OperatorRepository.byID(pending, in: sql)
        }
        guard let account, account.isActive else { throw invalid }
        try PasswordPolicy.validate(newPassword, email: account.email, field: "new_password")
        let hash = try await hasher.hash(newPassword)
        let notice = Mail(
            to: account.email,
            subject: "Your ZakOps password was reset",
            body: "The password of your ZakOps account was reset and every session was signed out. If this was not you, tell your administrator now."
        )
        let completed = try await database.transaction { [mailer] sql in
            guard let row = try await ResetTokenRepository.lock(tokenHash: tokenHash, in: sql),
                  row.usedAt == nil, row.expiresAt > Timestamp.string(from: now), row.operatorID == account.id else { return false }
            try await ResetTokenRepository.markUsed(tokenHash: tokenHash, now: now, in: sql)
            try await OperatorRepository.setPassword(account.id, hash: hash, now: now, in: sql)
            try await SessionService.endAll(operatorID: account.id, in: sql)
            try await mailer.send(notice, in: sql)
            if let origin {
                try await AuditLog.record(action: "auth.password_reset", targetKind: "operator", targetID: account.id, changes: [:], context: origin, in: sql)
            }
            return true
        }
        guard completed else { throw invalid }
        credentials.invalidate(subject: account.id)
        try await backoff.clear(email: account.email)
        logger.notice("security event", metadata: ["event": "password_reset_completed", "operator_id": .string(account.id)])
    }
}
