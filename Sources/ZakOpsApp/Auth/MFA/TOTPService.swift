import Foundation
import HummingbirdOTP
import Logging
import ZakOpsCore
import ZakOpsStore

/// Time-based one-time codes for an operator: enrolment, confirmation, removal, and the rule
/// that a code works once and five wrong ones lock attempts for 15 minutes. Each change
/// commits with the notice that tells the operator.
struct TOTPService: Sendable {
    let database: Database
    let hasher: PasswordHasher
    let mailer: any Mailer
    let clock: any AppClock
    /// Dropped for the operator once turning TOTP on or off ends their other sessions.
    let credentials: CredentialCache
    /// The TOTP seed is stored sealed, bound to its operator.
    let dataKeys: DataKeyRing
    let logger: Logger

    /// The authenticated context of an operator's sealed seed.
    static func sealContext(_ operatorID: String) -> String { "totp:" + operatorID }

    /// Failed codes allowed before TOTP attempts are refused, and for how long.
    static let maximumFailures = 5
    static let lockout: TimeInterval = 15 * 60

    /// The outcome of one TOTP attempt.
    enum Attempt: Sendable { case accepted, rejected, locked }

    /// Checks `code` for the account and records the outcome atomically: a step no later than
    /// the last accepted one is a replay; a wrong, malformed or replayed code counts as a
    /// failure, and five failures lock TOTP attempts for 15 minutes (a 6-digit code cannot be
    /// guessed then).
    func consume(code: String, account: OperatorRecord) async throws -> Attempt {
        guard let stored = account.totpSecret else { return .rejected }
        let secret = try dataKeys.open(stored, context: Self.sealContext(account.id))
        let now = clock.now()
        let step = TOTPVerifier.matchingStep(code: code, secret: secret, at: now)
        return try await database.transaction { sql in
            guard let state = try await TOTPRepository.lockAttemptState(operatorID: account.id, in: sql) else { return .rejected }
            if let until = state.lockedUntil, until > Timestamp.string(from: now) { return .locked }
            if let step, state.lastStep.map({ step > $0 }) ?? true {
                try await TOTPRepository.accept(step: step, operatorID: account.id, in: sql)
                return .accepted
            }
            let failures = state.failures + 1
            let locked = failures >= Self.maximumFailures
            try await TOTPRepository.recordFailures(locked ? 0 : failures,
                                                    lockedUntil: locked ? Timestamp.string(from: now.addingTimeInterval(Self.lockout)) : nil,
                                                    operatorID: account.id, in: sql)
            return locked ? .locked : .rejected
        }
    }

    /// The signed-in operator (agents have no TOTP).
    func account(for principal: Principal) async throws -> OperatorRecord {
        guard principal.kind == .user,
              let account = try await database.read({ sql in try await OperatorRepository.byID(principal.id, in: sql) }) else { throw AppError(.forbidden) }
        return account
    }

    /// Stores a new pending secret after checking the password (a borrowed session must not
    /// enrol its own authenticator and lock the owner out); returns the secret.
    func begin(account: OperatorRecord, password: String) async throws -> String {
        guard !account.totpEnabled else { throw AppError(.conflict, logDetail: "TOTP already enabled") }
        try await requirePassword(password, of: account)
        let secret = RandomToken.base32(RandomToken.bytes(20))
        let sealed = try dataKeys.seal(secret, context: Self.sealContext(account.id))
        try await database.transaction { [clock] sql in
            try await TOTPRepository.set(secret: sealed, enabled: false, operatorID: account.id, now: clock.now(), in: sql)
        }
        return secret
    }

    /// Turns TOTP on with a valid code, only if the pending secret is still the one the code
    /// was checked against. The operator's other sessions end: one opened by whoever made the
    /// change necessary must not outlive it (`keeping`: the session making the change).
    func confirm(account: OperatorRecord, code: String, keeping: String?, by change: ChangeContext? = nil) async throws {
        guard let secret = account.totpSecret, !account.totpEnabled else { throw AppError(.conflict, logDetail: "no pending TOTP setup") }
        guard try await consume(code: code, account: account) == .accepted else { throw AppError.validation(field: "code", problem: "is not valid") }
        let message = Self.notice(account, "Two-step sign-in was turned on for your ZakOps account, and your other sessions were signed out.")
        let enabled = try await database.transaction { [clock, mailer] sql in
            guard let current = try await TOTPRepository.lockSecret(operatorID: account.id, in: sql), current.secret == secret, !current.enabled else { return false }
            try await TOTPRepository.set(secret: secret, enabled: true, operatorID: account.id, now: clock.now(), in: sql)
            try await SessionService.endAll(operatorID: account.id, keeping: keeping, in: sql)
            try await mailer.send(message, in: sql)
            if let change {
                try await AuditLog.record(action: "auth.mfa_enabled", targetKind: "operator", targetID: account.id, changes: [:], context: change, in: sql)
            }
            return true
        }
        guard enabled else { throw AppError(.conflict, logDetail: "the pending TOTP secret changed") }
        credentials.invalidate(subject: account.id)
        logger.notice("security event", metadata: ["event": "mfa_enabled", "operator_id": .string(account.id)])
    }

    /// Turns TOTP off, with the password and a valid code; the operator's other sessions end.
    func disable(account: OperatorRecord, password: String, code: String, keeping: String?, by change: ChangeContext? = nil) async throws {
        guard account.totpEnabled else { throw AppError(.conflict, logDetail: "TOTP not enabled") }
        try await requirePassword(password, of: account)
        guard try await consume(code: code, account: account) == .accepted else { throw AppError.validation(field: "code", problem: "is not valid") }
        let message = Self.notice(account, "Two-step sign-in was turned off for your ZakOps account, and your other sessions were signed out. If this was not you, reset your password now.")
        try await database.transaction { [clock, mailer] sql in
            try await TOTPRepository.set(secret: nil, enabled: false, operatorID: account.id, now: clock.now(), in: sql)
            try await SessionService.endAll(operatorID: account.id, keeping: keeping, in: sql)
            try await mailer.send(message, in: sql)
            if let change {
                try await AuditLog.record(action: "auth.mfa_disabled", targetKind: "operator", targetID: account.id, changes: [:], context: change, in: sql)
            }
        }
        credentials.invalidate(subject: account.id)
        logger.notice("security event", metadata: ["event": "mfa_disabled", "operator_id": .string(account.id)])
    }

    private func requirePassword(_ password: String, of account: OperatorRecord) async throws {
        let (matches, _) = try await hasher.verify(password, against: account.passwordHash)
        guard matches else { throw AppError(.invalidCredentials, field: "password", problem: "is incorrect") }
    }

    private static func notice(_ account: OperatorRecord, _ text: String) -> Mail {
        Mail(to: account.email, subject: "ZakOps two-step sign-in changed", body: text)
    }
}
