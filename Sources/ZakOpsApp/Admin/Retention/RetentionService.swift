import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Retention with automated purging (`zakops retention run`, the daily `RetentionJob`,
/// `GET /api/admin/retention`): each kind of data is deleted once older than its period
/// (`RetentionPolicy`). A dry run counts exactly what the run would delete. Every run that
/// deletes is recorded (`retention.last_run`) and audited with its counts; the audit trail's own
/// oldest entries go behind a signed checkpoint, so what remains still verifies.
public struct RetentionService: Sendable {
    let database: Database
    let policy: RetentionPolicy
    let users: UserAdmin

    public init(database: Database, settings: Settings) throws {
        self.init(database: database, policy: settings.retention, users: try UserAdmin(database: database, settings: settings))
    }

    init(database: Database, policy: RetentionPolicy, users: UserAdmin) {
        self.database = database
        self.policy = policy
        self.users = users
    }

    /// The kinds of data, in the order a run purges them.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case expiredSessions = "expired_sessions"
        case resetTokens = "reset_tokens"
        case idempotency = "idempotency_records"
        case loginFailures = "login_failures"
        case rateLimits = "rate_limit_rows"
        case deliveredOutbox = "delivered_outbox"
        case deadLetters = "dead_letters"
        case events
        case deletedDeals = "deleted_deals"
        case disabledOperators = "disabled_operators"
        case audit = "audit_entries"
    }

    public struct Run: Sendable, Codable {
        public let dryRun: Bool
        public let at: String
        public let counts: [String: Int]
        enum CodingKeys: String, CodingKey {
            case at, counts
            case dryRun = "dry_run"
        }
    }

    public struct Status: Sendable, Codable {
        /// Days per kind (rate-limit rows: the limiter's own two minutes).
        public let policy: [String: Int]
        public let lastRun: Run?
        enum CodingKeys: String, CodingKey {
            case policy
            case lastRun = "last_run"
        }
    }

    static let lastRunKey = "retention.last_run"

    public func status() async throws -> Status {
        let last = try await database.read { sql in
            try await sql.select().column("value").from("settings").where("key", .equal, SQLBind(Self.lastRunKey)).first()?
                .decode(column: "value", as: String.self)
        }
        var days: [String: Int] = [:]
        for kind in Kind.allCases { days[kind.rawValue] = self.days(kind) }
        return Status(policy: days, lastRun: last.flatMap { try? JSONDecoder().decode(Run.self, from: Data($0.utf8)) })
    }

    /// The period of `kind` in days (0 for the rate-limit rows, whose period is two minutes).
    func days(_ kind: Kind) -> Int {
        switch kind {
        case .expiredSessions: policy.expiredSessionsDays
        case .resetTokens: policy.resetTokensDays
        case .idempotency: policy.idempotencyDays
        case .loginFailures: policy.loginFailuresDays
        case .rateLimits: 0
        case .deliveredOutbox: policy.deliveredOutboxDays
        case .deadLetters: policy.deadLettersDays
        case .events: policy.eventsDays
        case .deletedDeals: policy.deletedDealsDays
        case .disabledOperators: policy.disabledOperatorsDays
        case .audit: policy.auditDays
        }
    }

    /// Purges (or, in a dry run, counts) every kind due at `change.time`; records and audits a
    /// run of every kind that deleted (the janitor's frequent runs of a few kinds are not).
    func run(dryRun: Bool, kinds: [Kind] = Kind.allCases, by change: ChangeContext) async throws -> Run {
        var counts: [String: Int] = [:]
        for kind in kinds {
            counts[kind.rawValue] = try await purge(kind, now: change.time, dryRun: dryRun, change: change)
        }
        let run = Run(dryRun: dryRun, at: Timestamp.string(from: change.time), counts: counts)
        guard !dryRun, kinds == Kind.allCases else { return run }
        try await database.transaction { [counts] sql in
            let text = try JSONText.encode(run)
            let stamp = Timestamp.string(from: change.time)
            try await sql.insert(into: "settings").columns("key", "value", "updated_at", "updated_by")
                .values(SQLBind(Self.lastRunKey), SQLBind(text), SQLBind(stamp), SQLBind(change.actorID))
                .onConflict(with: ["key"]) { $0.set("value", to: SQLBind(text)).set("updated_at", to: SQLBind(stamp)).set("updated_by", to: SQLBind(change.actorID)) }
                .run()
            try await AuditLog.record(action: "retention.run", targetKind: "system", targetID: "retention",
                                      changes: counts.mapValues { FieldChange(before: nil, after: .number(Double($0))) }, context: change, in: sql)
        }
        return run
    }

    public func run(dryRun: Bool, at time: Date) async throws -> Run {
        try await run(dryRun: dryRun, by: ChangeContext(commandLineAt: time))
    }

    /// How many rows of `kind` are due at `now`, deleted unless a dry run.
    private func purge(_ kind: Kind, now: Date, dryRun: Bool, change: ChangeContext) async throws -> Int {
        let cutoff = Timestamp.string(from: now.addingTimeInterval(-Double(days(kind)) * 86_400))
        let stamp = Timestamp.string(from: now)
        func less(_ column: String, _ value: any Encodable & Sendable) -> any SQLExpression {
            SQLBinaryExpression(SQLColumn(column), .lessThan, SQLBind(value))
        }
        func equal(_ column: String, _ value: String) -> any SQLExpression { SQLBinaryExpression(SQLColumn(column), .equal, SQLBind(value)) }
        func all(_ parts: any SQLExpression...) -> any SQLExpression {
            parts.dropFirst().reduce(parts[0]) { SQLBinaryExpression(SQLGroupExpression($0), .and, SQLGroupExpression($1)) }
        }
        func either(_ left: any SQLExpression, _ right: any SQLExpression) -> any SQLExpression {
            SQLGroupExpression(SQLBinaryExpression(SQLGroupExpression(left), .or, SQLGroupExpression(right)))
        }
        switch kind {
        case .expiredSessions:
            return try await delete("sessions", where: less("expires_at", cutoff), dryRun: dryRun)
        case .resetTokens:
            return try await delete("password_reset_tokens", where: either(less("used_at", cutoff), less("expires_at", cutoff)), dryRun: dryRun)
        case .idempotency:
            return try await delete("idempotency_keys", where: less("created_at", cutoff), dryRun: dryRun)
        case .loginFailures:
            let unlocked = either(SQLBinaryExpression(SQLColumn("locked_until"), .is, SQLLiteral.null), less("locked_until", stamp))
            return try await delete("login_failures", where: all(less("last_failure_at", cutoff), unlocked), dryRun: dryRun)
        case .rateLimits:
            // Windows are at most a minute long: anything that started two minutes ago has ended.
            return try await delete("rate_limit_counters", where: less("window_start", Int64(now.timeIntervalSince1970) - 120), dryRun: dryRun)
        case .deliveredOutbox:
            return try await delete("outbox", where: all(equal("status", OutboxRow.Status.delivered.rawValue), less("delivered_at", cutoff)), dryRun: dryRun)
        case .deadLetters:
            return try await delete("outbox", where: all(equal("status", OutboxRow.Status.dead.rawValue), less("created_at", cutoff)), dryRun: dryRun)
        case .events:
            return try await delete("event_log", where: less("occurred_at", cutoff), dryRun: dryRun)
        case .deletedDeals:
            return try await purgeDeletedDeals(before: cutoff, dryRun: dryRun)
        case .disabledOperators:
            return try await eraseDisabledOperators(before: cutoff, dryRun: dryRun, change: change)
        case .audit:
            return try await purgeAudit(before: cutoff, at: now, dryRun: dryRun)
        }
    }

    /// Counts the rows of `table` the predicate picks, and deletes them unless a dry run; the
    /// count and the delete see the same rows (one transaction).
    private func delete(_ table: String, where predicate: any SQLExpression, dryRun: Bool) async throws -> Int {
        try await database.transaction { sql in
            let count = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from(table).where(predicate).first()?
                .decode(column: "n", as: Int.self) ?? 0
            if count > 0, !dryRun { try await sql.delete(from: table).where(predicate).run() }
            return count
        }
    }

    /// Soft-deleted deals past their period, deleted with their actions (which carry the deal's
    /// data). Their events stay until the event period: events carry no personal data.
    private func purgeDeletedDeals(before cutoff: String, dryRun: Bool) async throws -> Int {
        try await database.transaction { sql in
            let ids = try await sql.select().column("id").from("deals").where("deleted_at", .isNot, SQLLiteral.null)
                .where("deleted_at", .lessThan, SQLBind(cutoff)).all().map { try $0.decode(column: "id", as: String.self) }
            guard !ids.isEmpty, !dryRun else { return ids.count }
            try await sql.delete(from: "actions").where("deal_id", .in, ids).run()
            try await sql.delete(from: "deals").where("id", .in, ids).run()
            return ids.count
        }
    }

    /// Operators disabled longer than the period: their personal data erased as on request.
    private func eraseDisabledOperators(before cutoff: String, dryRun: Bool, change: ChangeContext) async throws -> Int {
        let ids = try await database.read { sql in
            try await sql.select().column("id").from("operators").where("is_active", .equal, SQLBind(false))
                .where("erased_at", .is, SQLLiteral.null).where("disabled_at", .lessThan, SQLBind(cutoff)).all()
                .map { try $0.decode(column: "id", as: String.self) }
        }
        guard !dryRun else { return ids.count }
        var erased = 0
        for id in ids where try await users.erase(id, by: change).changed { erased += 1 }
        return erased
    }

    /// Audit entries older than the period, behind a signed checkpoint. Only a prefix in commit
    /// order is purged: up to the last entry before the first one that is not yet due.
    private func purgeAudit(before cutoff: String, at now: Date, dryRun: Bool) async throws -> Int {
        try await database.transaction { [database] sql in
            let firstKept = try await sql.select().column(SQLFunction("min", args: SQLColumn("seq")), as: "n").from("audit_log")
                .where("occurred_at", .greaterThanOrEqual, SQLBind(cutoff)).first()?.decode(column: "n", as: Int64?.self) ?? nil
            let through: Int64
            if let firstKept {
                through = firstKept - 1
            } else {
                through = try await sql.select().column(SQLFunction("max", args: SQLColumn("seq")), as: "n").from("audit_log").first()?
                    .decode(column: "n", as: Int64?.self) ?? nil ?? 0
            }
            let floor = try await AuditChain.checkpoints(in: sql).last?.seq ?? 0
            guard through > floor else { return 0 }
            if dryRun {
                return try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("audit_log")
                    .where("seq", .lessThanOrEqual, SQLBind(through)).first()?.decode(column: "n", as: Int.self) ?? 0
            }
            guard let keys = database.auditKeys else { throw AppError(.internalError, logDetail: "the database has no audit keys") }
            return try await AuditChain.purge(through: through, at: now, keys: keys, in: sql)
        }
    }
}
