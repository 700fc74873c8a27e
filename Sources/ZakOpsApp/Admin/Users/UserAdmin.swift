import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// User administration (`admin:users`), behind both `/api/admin/users*` and `zakops user`.
///
/// Every change is one transaction with its audit entry, its notices (through the outbox) and,
/// when it touches credentials, the notice that drops them from every instance's cache (a
/// role change takes effect within `AUTH_CACHE_SECONDS`, at once on PostgreSQL). A change that
/// finds the user already in the asked state changes nothing and records nothing (idempotent).
/// The last active admin can be neither disabled, demoted nor erased. No password crosses this
/// API: invitations and forced resets send a single-use link.
public struct UserAdmin: Sendable {
    let database: Database
    let mailer: any Mailer
    let hasher: PasswordHasher
    /// This instance's credential cache, dropped at once (nil for the command line).
    let credentials: CredentialCache?
    let publicBaseURL: String

    /// The command line's: mail through the outbox, links to `PUBLIC_BASE_URL`.
    public init(database: Database, settings: Settings) throws {
        self.init(database: database, mailer: OutboxMailer(database: database, keys: try settings.dataKeyRing()),
                  hasher: PasswordHasher(cost: settings.passwordHashCost, threads: 1), credentials: nil, publicBaseURL: settings.linkBaseURL)
    }

    init(database: Database, mailer: any Mailer, hasher: PasswordHasher, credentials: CredentialCache?, publicBaseURL: String) {
        self.database = database
        self.mailer = mailer
        self.hasher = hasher
        self.credentials = credentials
        self.publicBaseURL = publicBaseURL
    }

    public enum Status: String, Sendable, Codable, CaseIterable {
        case active, disabled, pending, erased
    }

    /// An operator as administrators see it (an erased one without e-mail or name).
    public struct User: Sendable, Codable, Equatable {
        public let id: String
        public let email: String?
        public let name: String?
        public let role: Role
        public let status: Status
        public let mfaEnabled: Bool
        public let resetRequired: Bool
        public let lastLoginAt: String?
        public let createdAt: String
        public let createdBy: String?
        public let disabledAt: String?
        public var openSessions: Int
        enum CodingKeys: String, CodingKey {
            case id, email, name, role, status
            case mfaEnabled = "mfa_enabled"
            case resetRequired = "reset_required"
            case lastLoginAt = "last_login_at"
            case createdAt = "created_at"
            case createdBy = "created_by"
            case disabledAt = "disabled_at"
            case openSessions = "open_sessions"
        }
    }

    public struct Page: Sendable, Codable {
        public let users: [User]
        public let nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case users
            case nextCursor = "next_cursor"
        }
    }

    /// What a change did: the user after it, and whether anything changed.
    public struct Outcome: Sendable, Codable {
        public let user: User
        public let changed: Bool
    }

    // MARK: - Reading

    public func list(role: Role? = nil, status: Status? = nil, limit: Int = 50, cursor: String? = nil) async throws -> Page {
        let after = try cursor.map(Self.decodeCursor)
        let rows = try await database.read { sql in
            try await UserRepository.list(role: role, status: status, after: after, limit: KeysetPage<User, String>.fetchLimit(limit), in: sql)
        }
        let page = KeysetPage(rows: rows, limit: limit, key: { Base64URL.encode(Data("\($0.createdAt)|\($0.id)".utf8)) }, item: { $0 })
        return Page(users: page.items, nextCursor: page.next)
    }

    public func user(_ id: String) async throws -> User {
        guard let user = try await database.read({ sql in try await UserRepository.byID(id, in: sql) }) else { throw AppError(.notFound) }
        return user
    }

    /// The operator with this e-mail address (any case); `NOT_FOUND` if none.
    public func user(email: String) async throws -> User {
        guard let account = try await database.read({ sql in try await OperatorRepository.byEmail(email, in: sql) }) else { throw AppError(.notFound) }
        return try await user(account.id)
    }

    // MARK: - Changing

    /// Creates an operator who sets their own password through a single-use link (valid 7 days)
    /// sent through the outbox. Until then the account has a password nobody knows.
    func invite(email: String, name: String, role: Role, by change: ChangeContext) async throws -> User {
        try Validate.email(email, field: "email")
        let name = try Validate.name(name, field: "name", max: 100)
        let unusable = try await hasher.hash(RandomToken.base32(RandomToken.bytes(32)))
        let id = try await database.transaction { [mailer, publicBaseURL] sql in
            let id = try await OperatorRepository.insert(email: email, name: name, role: role, passwordHash: unusable, mustResetPassword: false,
                                                         now: change.time, createdBy: change.actorID, in: sql)
            // Until the link is used the account has no usable password, and does not count as
            // an admin who can act.
            try await UserRepository.awaitPassword(id, unusableHash: unusable, in: sql)
            try await PasswordLink.issue(operatorID: id, purpose: .invitation, base: publicBaseURL, now: change.time, mailer: mailer, in: sql) { link, until in
                Mail(to: email, subject: "You are invited to ZakOps",
                     body: "An administrator created a ZakOps account for you (role: \(role.rawValue)). Choose your password with this link, usable once until \(until):\n\n\(link)\n\nIf you did not expect this, ignore this message.")
            }
            try await AuditLog.record(action: "user.invited", targetKind: "operator", targetID: id,
                                      changes: ["role": FieldChange(before: nil, after: .string(role.rawValue))], context: change, in: sql)
            return id
        }
        return try await user(id)
    }

    /// Changes the role and/or the display name. Demoting the last active admin is refused.
    func update(_ id: String, role: Role?, name: String?, by change: ChangeContext) async throws -> Outcome {
        let name = try name.map { try Validate.name($0, field: "name", max: 100) }
        let changed = try await database.transaction { sql -> Bool in
            try await UserRepository.lockAdmins(in: sql)
            let before = try await lockedUser(id, in: sql)
            if before.status == .erased { throw AppError(.conflict, field: "id", problem: "names an erased user") }
            var changes: [String: FieldChange] = [:]
            if let role, role != before.role {
                if before.role == .admin, before.status == .active, try await !UserRepository.anotherActiveAdmin(excluding: id, in: sql) {
                    throw Self.lastAdmin
                }
                try await UserRepository.setRole(id, role, now: change.time, in: sql)
                changes["role"] = FieldChange(before: .string(before.role.rawValue), after: .string(role.rawValue))
            }
            if let name, name != before.name {
                try await UserRepository.setName(id, name, now: change.time, in: sql)
                changes["name"] = FieldChange(before: FieldChange.redacted, after: FieldChange.redacted)
            }
            guard !changes.isEmpty else { return false }
            if changes["role"] != nil { try await CredentialNotice.announce(.subject(id), in: sql) }
            try await AuditLog.record(action: "user.updated", targetKind: "operator", targetID: id, changes: changes, context: change, in: sql)
            return true
        }
        if changed { credentials?.invalidate(subject: id) }
        return Outcome(user: try await user(id), changed: changed)
    }

    /// Disables the account and ends every session; the person is told. The last active admin
    /// cannot be disabled. With `unlessActiveSince` (deprovisioning the inactive), an operator
    /// who signed in since that time is left as is: the decision is made again under the lock.
    func disable(_ id: String, unlessActiveSince cutoff: String? = nil, by change: ChangeContext) async throws -> Outcome {
        let changed = try await database.transaction { [mailer] sql -> Bool in
            try await UserRepository.lockAdmins(in: sql)
            let before = try await lockedUser(id, in: sql)
            guard before.status == .active || before.status == .pending else { return false }
            if let cutoff, let login = before.lastLoginAt, login >= cutoff { return false }
            if before.role == .admin, before.status == .active, try await !UserRepository.anotherActiveAdmin(excluding: id, in: sql) {
                throw Self.lastAdmin
            }
            try await OperatorRepository.disable(id, now: change.time, in: sql)
            try await sql.update("operators").set("approval_pending", to: SQLBind(false)).where("id", .equal, SQLBind(id)).run()
            try await SessionService.endAll(operatorID: id, in: sql)
            if let email = before.email, before.status == .active {
                try await mailer.send(Mail(to: email, subject: "Your ZakOps account was disabled",
                                           body: "Your ZakOps account was disabled and every session of it was signed out."), in: sql)
            }
            try await AuditLog.record(action: "user.disabled", targetKind: "operator", targetID: id,
                                      changes: ["status": FieldChange(before: .string(before.status.rawValue), after: .string(Status.disabled.rawValue))],
                                      context: change, in: sql)
            return true
        }
        if changed { credentials?.invalidate(subject: id) }
        return Outcome(user: try await user(id), changed: changed)
    }

    /// Enables a disabled account, or approves a pending registration. An approved registrant
    /// chooses a password through a mailed link (valid 7 days): the one given at registration
    /// proved nothing about the address, and must not open the account of whoever owns it.
    func enable(_ id: String, by change: ChangeContext) async throws -> Outcome {
        let unusable = try await hasher.hash(RandomToken.base32(RandomToken.bytes(32)))
        let changed = try await database.transaction { [mailer, publicBaseURL] sql -> Bool in
            let before = try await lockedUser(id, in: sql)
            guard before.status == .disabled || before.status == .pending else {
                if before.status == .erased { throw AppError(.conflict, field: "id", problem: "names an erased user") }
                return false
            }
            try await UserRepository.enable(id, now: change.time, in: sql)
            if let email = before.email, before.status == .pending {
                try await UserRepository.awaitPassword(id, unusableHash: unusable, in: sql)
                try await PasswordLink.issue(operatorID: id, purpose: .invitation, base: publicBaseURL, now: change.time, mailer: mailer, in: sql) { link, until in
                    Mail(to: email, subject: "Your ZakOps account was approved",
                         body: "An administrator approved your ZakOps account. Choose your password with this link, usable once until \(until):\n\n\(link)\n\nIf you did not register, ignore this message.")
                }
            } else if let email = before.email {
                try await mailer.send(Mail(to: email, subject: "Your ZakOps account was enabled",
                                           body: "An administrator gave your ZakOps account access. You can sign in now."), in: sql)
            }
            try await AuditLog.record(action: before.status == .pending ? "user.approved" : "user.enabled", targetKind: "operator", targetID: id,
                                      changes: ["status": FieldChange(before: .string(before.status.rawValue), after: .string(Status.active.rawValue))],
                                      context: change, in: sql)
            return true
        }
        return Outcome(user: try await user(id), changed: changed)
    }

    /// Forces a password reset: every session ends, sign-in answers `PASSWORD_RESET_REQUIRED`
    /// until the person sets a new password through the link mailed now (valid 72 hours).
    func forceReset(_ id: String, by change: ChangeContext) async throws -> Outcome {
        try await database.transaction { sql in
            let before = try await lockedUser(id, in: sql)
            guard before.status == .active, let email = before.email else { throw AppError(.conflict, field: "id", problem: "names a user who is not active") }
            try await forceReset(id: id, email: email, reason: "An administrator requires you to choose a new password.", at: change.time, in: sql)
            try await AuditLog.record(action: "user.reset_forced", targetKind: "operator", targetID: id, changes: [:], context: change, in: sql)
        }
        credentials?.invalidate(subject: id)
        return Outcome(user: try await user(id), changed: true)
    }

    /// The forced reset's steps inside the caller's transaction (shared with the auth-breach
    /// playbook): reset required, sessions ended, a link mailed.
    func forceReset(id: String, email: String, reason: String, at time: Date, in sql: any SQLDatabase) async throws {
        try await UserRepository.requireReset([id], now: time, in: sql)
        try await SessionService.endAll(operatorID: id, in: sql)
        try await PasswordLink.issue(operatorID: id, purpose: .forcedReset, base: publicBaseURL, now: time, mailer: mailer, in: sql) { link, until in
            Mail(to: email, subject: "Choose a new ZakOps password",
                 body: "\(reason) Every session of your account was signed out, and signing in is refused until you choose a new password with this link, usable once until \(until):\n\n\(link)\n\nIf the link has expired, use \"Forgot password\" on the sign-in page.")
        }
    }

    /// Ends every session of the user; returns how many ended.
    func revokeSessions(_ id: String, by change: ChangeContext) async throws -> Int {
        let count = try await database.transaction { sql -> Int in
            _ = try await lockedUser(id, in: sql)
            let count = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("sessions")
                .where("operator_id", .equal, SQLBind(id)).first()?.decode(column: "n", as: Int.self) ?? 0
            try await SessionService.endAll(operatorID: id, in: sql)
            try await AuditLog.record(action: "user.sessions_revoked", targetKind: "operator", targetID: id,
                                      changes: ["count": FieldChange(before: nil, after: .number(Double(count)))], context: change, in: sql)
            return count
        }
        credentials?.invalidate(subject: id)
        return count
    }

    /// Erasure on request: the e-mail, name, password and second factor are removed, sessions
    /// and reset links deleted; the id stays as the pseudonym the audit trail, deals and actions
    /// keep. The person is told at the address being erased. The last active admin cannot be erased.
    func erase(_ id: String, by change: ChangeContext) async throws -> Outcome {
        let unusable = try await hasher.hash(RandomToken.base32(RandomToken.bytes(32)))
        let changed = try await database.transaction { [mailer] sql -> Bool in
            try await UserRepository.lockAdmins(in: sql)
            let before = try await lockedUser(id, in: sql)
            guard before.status != .erased else { return false }
            if before.role == .admin, before.status == .active, try await !UserRepository.anotherActiveAdmin(excluding: id, in: sql) {
                throw Self.lastAdmin
            }
            if let email = before.email {
                try await mailer.send(Mail(to: email, subject: "Your ZakOps account was erased",
                                           body: "Your ZakOps account and the personal data it held were erased at your or your organisation's request."), in: sql)
                try await LoginFailureRepository.clear(subject: LoginBackoff.subject(email), in: sql)
            }
            try await SessionService.endAll(operatorID: id, in: sql)
            try await UserRepository.erase(id, unusableHash: unusable, now: change.time, in: sql)
            try await AuditLog.record(action: "user.erased", targetKind: "operator", targetID: id,
                                      changes: ["status": FieldChange(before: .string(before.status.rawValue), after: .string(Status.erased.rawValue))],
                                      context: change, in: sql)
            return true
        }
        if changed { credentials?.invalidate(subject: id) }
        return Outcome(user: try await user(id), changed: changed)
    }

    // MARK: - Command-line forms (audited as `cli`)

    public func invite(email: String, name: String, role: Role, at time: Date) async throws -> User {
        try await invite(email: email, name: name, role: role, by: ChangeContext(commandLineAt: time))
    }

    public func update(_ id: String, role: Role?, name: String?, at time: Date) async throws -> Outcome {
        try await update(id, role: role, name: name, by: ChangeContext(commandLineAt: time))
    }

    public func disable(_ id: String, at time: Date) async throws -> Outcome { try await disable(id, by: ChangeContext(commandLineAt: time)) }
    public func enable(_ id: String, at time: Date) async throws -> Outcome { try await enable(id, by: ChangeContext(commandLineAt: time)) }
    public func forceReset(_ id: String, at time: Date) async throws -> Outcome { try await forceReset(id, by: ChangeContext(commandLineAt: time)) }
    public func erase(_ id: String, at time: Date) async throws -> Outcome { try await erase(id, by: ChangeContext(commandLineAt: time)) }

    // MARK: - Helpers

    static let lastAdmin = AppError(.conflict, field: "id", problem: "names the last active admin, who must stay an active admin")

    /// The user, its row locked until commit; `NOT_FOUND` if none.
    private func lockedUser(_ id: String, in sql: any SQLDatabase) async throws -> User {
        guard try await OperatorRepository.lockCredentials(id, in: sql) != nil, let user = try await UserRepository.byID(id, in: sql) else {
            throw AppError(.notFound)
        }
        return user
    }

    static func decodeCursor(_ value: String) throws -> (String, String) {
        let invalid = AppError.validation(field: "cursor", problem: "is not a cursor this server issued")
        guard value.count <= 200, let data = Base64URL.decode(value), let text = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: "|", maxSplits: 1).map(String.init)
        guard parts.count == 2, Timestamp.date(from: parts[0]) != nil, parts[1].count <= 60 else { throw invalid }
        return (parts[0], parts[1])
    }
}

extension Settings {
    /// Where links in e-mails point: `PUBLIC_BASE_URL`, never a request's Host header.
    var linkBaseURL: String {
        publicBaseURL ?? "http://\(httpHost):\(httpPort)"
    }

    /// The keys that seal secrets at rest: `DATA_ENCRYPTION_KEY` (and `_PREVIOUS`), or in
    /// development without it a fixed development key — not a secret at all, which is why
    /// preflight refuses a production start without the setting.
    /// The keys of the audit chain: `AUDIT_HMAC_KEY` (and `_PREVIOUS`), else derived from the
    /// session secret (and its previous), else — development without either — from a fixed
    /// development secret, like the data key.
    public var auditKeyRing: KeyRing {
        if let key = auditHMACKey { return KeyRing(current: key, previous: auditHMACKeyPrevious, purpose: .audit) }
        if let secret = sessionSecret { return KeyRing(current: secret, previous: sessionSecretPrevious, purpose: .audit) }
        return KeyRing(current: Secret("zakops-development-audit-key (not secret; set AUDIT_HMAC_KEY)"), purpose: .audit)
    }

    public func dataKeyRing() throws -> DataKeyRing {
        if let key = dataEncryptionKey { return try DataKeyRing(current: key, previous: dataEncryptionKeyPrevious) }
        return DataKeyRing(derivedFrom: Secret("zakops-development-data-key (not secret; set DATA_ENCRYPTION_KEY)"))
    }
}
