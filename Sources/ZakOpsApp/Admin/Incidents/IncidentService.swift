import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The checklist's incident playbooks — authentication breach and data-breach containment —
/// behind both `/api/admin/incidents/*` and `zakops incident|sessions|keys|users`.
///
/// Each run is one transaction with one audit entry carrying its counts; a dry run counts the
/// same things inside a transaction that is rolled back, so it answers exactly what the run
/// would do and changes nothing. Running a step again is harmless (nothing left to revoke).
/// Other instances act on it at once on PostgreSQL (the credential and runtime notices), and
/// within `AUTH_CACHE_SECONDS` and one runtime poll on SQLite.
public struct IncidentService: Sendable {
    let database: Database
    let users: UserAdmin
    /// This instance's cache and runtime state, updated at once (nil for the command line).
    let credentials: CredentialCache?
    let runtime: RuntimeState?

    public init(database: Database, users: UserAdmin) {
        self.init(database: database, users: users, credentials: nil, runtime: nil)
    }

    init(database: Database, users: UserAdmin, credentials: CredentialCache?, runtime: RuntimeState?) {
        self.database = database
        self.users = users
        self.credentials = credentials
        self.runtime = runtime
    }

    /// What the auth-breach playbook did (or, in a dry run, would do).
    public struct AuthBreachResult: Sendable, Codable {
        public let dryRun: Bool
        public let sessionsRevoked: Int
        public let apiKeysRevoked: Int
        public let passwordResetsForced: Int
        public let mailsQueued: Int
        public let keyGeneration: Int
        public let reportID: String?
        public let report: AccessReport
        enum CodingKeys: String, CodingKey {
            case report
            case dryRun = "dry_run"
            case sessionsRevoked = "sessions_revoked"
            case apiKeysRevoked = "api_keys_revoked"
            case passwordResetsForced = "password_resets_forced"
            case mailsQueued = "mails_queued"
            case keyGeneration = "key_generation"
            case reportID = "report_id"
        }
    }

    public struct CountResult: Sendable, Codable {
        public let dryRun: Bool
        public let count: Int
        enum CodingKeys: String, CodingKey {
            case count
            case dryRun = "dry_run"
        }
    }

    public struct LockdownStatus: Sendable, Codable {
        public let lockdown: Bool
        public let changed: Bool
    }

    /// Rolled back at the end of a dry run, after everything was counted.
    private struct DryRun<Value: Sendable>: Error {
        let value: Value
    }

    /// Runs `body` in a transaction that commits, or (dry run) is rolled back after it counted.
    private func run<Value: Sendable>(dryRun: Bool, _ body: @escaping @Sendable (any SQLDatabase) async throws -> Value) async throws -> Value {
        do {
            return try await database.transaction { sql in
                let value = try await body(sql)
                if dryRun { throw DryRun(value: value) }
                return value
            }
        } catch let dry as DryRun<Value> {
            return dry.value
        }
    }

    // MARK: - Authentication breach

    /// The playbook: (1) every session ends, and with `revokeKeys` every API key; (2) the
    /// signing keys' generation is raised, so every CSRF token and other signed value issued
    /// before is refused on every instance; (3) every active operator must reset their password,
    /// (5) told so by one mail with their reset link; (4) the access report of `since` until now
    /// is stored and returned; (6) one audit entry with the counts.
    func authBreach(revokeKeys: Bool, since: Date, dryRun: Bool, by change: ChangeContext) async throws -> AuthBreachResult {
        let result = try await run(dryRun: dryRun) { [users] sql -> AuthBreachResult in
            // The report first: revoking deletes the sessions it lists.
            let report = try await AccessReport.build(since: since, until: nil, now: change.time, principal: nil, in: sql)
            let sessions = try await Self.count("sessions", in: sql)
            try await sql.delete(from: "sessions").run()
            let keys = revokeKeys ? try await Self.revokeKeys(at: change.time, in: sql) : 0
            let generation = try await RuntimeSwitches.raiseKeyGeneration(by: change, in: sql)
            let people = try await UserRepository.all(in: sql).filter { $0.status == .active }
            for person in people {
                guard let email = person.email else { continue }
                try await users.forceReset(id: person.id, email: email,
                                           reason: "Because of a security incident, every ZakOps password must be changed.", at: change.time, in: sql)
            }
            try await CredentialNotice.announce(.everything, in: sql)
            let reportID = dryRun ? nil : try await ReportRepository.insert(.accessReport, body: report, by: change, in: sql)
            try await AuditLog.record(action: "incident.auth_breach", targetKind: "system", targetID: "identity", changes: [
                "sessions_revoked": FieldChange(before: nil, after: .number(Double(sessions))),
                "api_keys_revoked": FieldChange(before: nil, after: .number(Double(keys))),
                "password_resets_forced": FieldChange(before: nil, after: .number(Double(people.count))),
                "key_generation": FieldChange(before: .number(Double(generation - 1)), after: .number(Double(generation))),
                "report_id": FieldChange(before: nil, after: reportID.map(JSONValue.string)),
            ], context: change, in: sql)
            return AuthBreachResult(dryRun: dryRun, sessionsRevoked: sessions, apiKeysRevoked: keys, passwordResetsForced: people.count,
                                    mailsQueued: people.count, keyGeneration: generation, reportID: reportID, report: report)
        }
        if !dryRun { try await applied() }
        return result
    }

    /// Ends every session, or those of operators with `role`.
    func revokeAllSessions(role: Role?, dryRun: Bool, by change: ChangeContext) async throws -> CountResult {
        let count = try await run(dryRun: dryRun) { sql -> Int in
            var count = 0
            if let role {
                let ids = try await sql.select().column("id").from("operators").where("role", .equal, SQLBind(role.rawValue)).all()
                    .map { try $0.decode(column: "id", as: String.self) }
                if !ids.isEmpty {
                    count = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("sessions")
                        .where("operator_id", .in, ids).first()?.decode(column: "n", as: Int.self) ?? 0
                    try await sql.delete(from: "sessions").where("operator_id", .in, ids).run()
                }
            } else {
                count = try await Self.count("sessions", in: sql)
                try await sql.delete(from: "sessions").run()
            }
            try await CredentialNotice.announce(.everything, in: sql)
            try await AuditLog.record(action: "incident.sessions_revoked", targetKind: "system", targetID: "sessions", changes: [
                "count": FieldChange(before: nil, after: .number(Double(count))),
                "role": FieldChange(before: nil, after: role.map { .string($0.rawValue) }),
            ], context: change, in: sql)
            return count
        }
        if !dryRun { try await applied() }
        return CountResult(dryRun: dryRun, count: count)
    }

    /// Revokes every live API key.
    func revokeAllKeys(dryRun: Bool, by change: ChangeContext) async throws -> CountResult {
        let count = try await run(dryRun: dryRun) { sql -> Int in
            let count = try await Self.revokeKeys(at: change.time, in: sql)
            try await CredentialNotice.announce(.everything, in: sql)
            try await AuditLog.record(action: "incident.keys_revoked", targetKind: "system", targetID: "api_keys",
                                      changes: ["count": FieldChange(before: nil, after: .number(Double(count)))], context: change, in: sql)
            return count
        }
        if !dryRun { try await applied() }
        return CountResult(dryRun: dryRun, count: count)
    }

    /// Forces a password reset for every active operator (each mailed a link).
    func forceResetAll(dryRun: Bool, by change: ChangeContext) async throws -> CountResult {
        let count = try await run(dryRun: dryRun) { [users] sql -> Int in
            let people = try await UserRepository.all(in: sql).filter { $0.status == .active }
            for person in people {
                guard let email = person.email else { continue }
                try await users.forceReset(id: person.id, email: email, reason: "An administrator requires every user to choose a new password.",
                                           at: change.time, in: sql)
            }
            try await AuditLog.record(action: "incident.resets_forced", targetKind: "system", targetID: "operators",
                                      changes: ["count": FieldChange(before: nil, after: .number(Double(people.count)))], context: change, in: sql)
            return people.count
        }
        if !dryRun { try await applied() }
        return CountResult(dryRun: dryRun, count: count)
    }

    // MARK: - Data-breach containment

    /// Turns the lockdown on or off: while on, every request of a principal other than an admin
    /// operator is refused with 503 `LOCKDOWN` (API keys suspended), webhooks are not delivered
    /// (mail still is), non-admin event streams are closed, and sign-in is refused to non-admins.
    func setLockdown(_ on: Bool, by change: ChangeContext) async throws -> LockdownStatus {
        let changed = try await database.transaction { sql -> Bool in
            guard try await RuntimeSwitches.isOn(.lockdown, in: sql) != on else { return false }
            try await RuntimeSwitches.set(.lockdown, on: on, by: change, in: sql)
            try await AuditLog.record(action: on ? "incident.lockdown_on" : "incident.lockdown_off", targetKind: "system", targetID: "lockdown",
                                      changes: ["lockdown": FieldChange(before: .bool(!on), after: .bool(on))], context: change, in: sql)
            return true
        }
        try await runtime?.refresh()
        return LockdownStatus(lockdown: on, changed: changed)
    }

    public func lockdownStatus() async throws -> Bool {
        try await RuntimeSwitches(database: database).snapshot().on.contains(.lockdown)
    }

    // MARK: - Command-line forms (audited as `cli`)

    public func authBreach(revokeKeys: Bool, since: Date, dryRun: Bool, at time: Date) async throws -> AuthBreachResult {
        try await authBreach(revokeKeys: revokeKeys, since: since, dryRun: dryRun, by: ChangeContext(commandLineAt: time))
    }

    public func revokeAllSessions(role: Role?, dryRun: Bool, at time: Date) async throws -> CountResult {
        try await revokeAllSessions(role: role, dryRun: dryRun, by: ChangeContext(commandLineAt: time))
    }

    public func revokeAllKeys(dryRun: Bool, at time: Date) async throws -> CountResult {
        try await revokeAllKeys(dryRun: dryRun, by: ChangeContext(commandLineAt: time))
    }

    public func forceResetAll(dryRun: Bool, at time: Date) async throws -> CountResult {
        try await forceResetAll(dryRun: dryRun, by: ChangeContext(commandLineAt: time))
    }

    public func setLockdown(_ on: Bool, at time: Date) async throws -> LockdownStatus {
        try await setLockdown(on, by: ChangeContext(commandLineAt: time))
    }

    /// A stored access report (the auth-breach playbook's), as it was stored.
    public func storedReport(_ id: String) async throws -> JSONValue {
        guard let body = try await database.read({ sql in try await ReportRepository.body(id, kind: .accessReport, in: sql) }) else {
            throw AppError(.notFound)
        }
        return JSONText.value(body)
    }

    /// The access report of `since` until `until` (open-ended up to now when nil).
    public func accessReport(since: Date, until: Date?, principal: String?, now: Date = Date()) async throws -> AccessReport {
        try await database.read { sql in try await AccessReport.build(since: since, until: until, now: now, principal: principal, in: sql) }
    }

    // MARK: - Helpers

    /// This instance acts at once: its cache is emptied and its runtime state read again.
    private func applied() async throws {
        credentials?.invalidateAll()
        try await runtime?.refresh()
    }

    private static func count(_ table: String, in sql: any SQLDatabase) async throws -> Int {
        try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from(table).first()?.decode(column: "n", as: Int.self) ?? 0
    }

    private static func revokeKeys(at time: Date, in sql: any SQLDatabase) async throws -> Int {
        let count = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("api_keys")
            .where("revoked_at", .is, SQLLiteral.null).first()?.decode(column: "n", as: Int.self) ?? 0
        try await sql.update("api_keys").set("revoked_at", to: SQLBind(Timestamp.string(from: time))).where("revoked_at", .is, SQLLiteral.null).run()
        return count
    }
}
