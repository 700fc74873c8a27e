import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for operators, sessions and password-reset tokens. Every value is bound.
struct IdentityRepository: Sendable {
    let database: Database

    // MARK: Operators

    func operatorByEmail(_ email: String) async throws -> OperatorRecord? {
        try await database.read { sql in
            try await sql.select().columns(OperatorRecord.columns.map { SQLColumn($0) }).from("operators")
                .where(SQLFunction("lower", args: SQLColumn("email")), .equal, SQLFunction("lower", args: SQLBind(email)))
                .first()
                .map { try OperatorRecord(row: $0) }
        }
    }

    func operatorByID(_ id: String) async throws -> OperatorRecord? {
        try await database.read { sql in
            try await sql.select().columns(OperatorRecord.columns.map { SQLColumn($0) }).from("operators")
                .where("id", .equal, SQLBind(id))
                .first()
                .map { try OperatorRecord(row: $0) }
        }
    }

    func countOperators() async throws -> Int {
        try await database.read { sql in
            try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("operators")
                .first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// Inserts an operator; a duplicate e-mail (any case) is `CONFLICT`. The check and the
    /// insert share one transaction.
    func insertOperator(email: String, name: String, role: Role, passwordHash: String, mustResetPassword: Bool, now: Date) async throws -> String {
        let id = PublicID.make(.operatorAccount)
        let stamp = Timestamp.string(from: now)
        try await database.transaction { sql in
            let taken = try await sql.select().column("id").from("operators")
                .where(SQLFunction("lower", args: SQLColumn("email")), .equal, SQLFunction("lower", args: SQLBind(email)))
                .first() != nil
            if taken {
                throw AppError(.conflict, field: "email", problem: "is already registered")
            }
            try await sql.insert(into: "operators")
                .columns("id", "email", "name", "role", "password_hash", "is_active", "must_reset_password", "created_at", "updated_at")
                .values(SQLBind(id), SQLBind(email), SQLBind(name), SQLBind(role.rawValue), SQLBind(passwordHash), SQLBind(true),
                        SQLBind(mustResetPassword), SQLBind(stamp), SQLBind(stamp))
                .run()
        }
        return id
    }

    /// A password change in one transaction: the new hash, the end of every other session of
    /// the operator (all of them when `keeping` is nil), and `also` (the notice). A crash
    /// cannot leave the old sessions alive under the new password.
    func changePassword(operatorID: String, hash: String, now: Date, keeping: String?, also: @escaping AlsoInTransaction) async throws {
        try await database.transaction { sql in
            try await Self.setPassword(operatorID: operatorID, hash: hash, now: now, in: sql)
            try await Self.deleteSessions(operatorID: operatorID, keeping: keeping, in: sql)
            try await also(sql)
        }
    }

    private static func setPassword(operatorID: String, hash: String, now: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("operators")
            .set("password_hash", to: SQLBind(hash))
            .set("must_reset_password", to: SQLBind(false))
            .set("updated_at", to: SQLBind(Timestamp.string(from: now)))
            .where("id", .equal, SQLBind(operatorID))
            .run()
    }

    /// Replaces a hash only if it is still the one that was verified (a rehash racing a
    /// password change must not undo the change).
    @discardableResult
    func upgradeHash(operatorID: String, from old: String, to new: String) async throws -> Bool {
        try await database.transaction { sql in
            let current = try await sql.select().column("password_hash").from("operators")
                .where("id", .equal, SQLBind(operatorID)).for(.update).first()?.decode(column: "password_hash", as: String.self)
            guard current == old else { return false }
            try await sql.update("operators")
                .set("password_hash", to: SQLBind(new))
                .where("id", .equal, SQLBind(operatorID))
                .run()
            return true
        }
    }

    func recordLogin(operatorID: String, now: Date) async throws {
        try await database.transaction { sql in
            try await sql.update("operators")
                .set("last_login_at", to: SQLBind(Timestamp.string(from: now)))
                .where("id", .equal, SQLBind(operatorID))
                .run()
        }
    }

    // MARK: Sessions

    /// Inserts a session only if the operator is still active and still has the password hash
    /// that was verified (`verifiedHash`): a login racing a password change or reset must not
    /// outlive the revocation. Returns false when the condition no longer holds.
    func insertSession(_ session: SessionRecord, verifiedHash: String) async throws -> Bool {
        try await database.transaction { sql in
            let current = try await sql.select().columns("password_hash", "is_active").from("operators")
                .where("id", .equal, SQLBind(session.operatorID)).for(.update).first()
            guard let current, try current.decode(column: "is_active", as: Bool.self),
                  try current.decode(column: "password_hash", as: String.self) == verifiedHash else { return false }
            try await sql.insert(into: "sessions")
                .columns(SessionRecord.columns.map { SQLColumn($0) })
                .values(
                    SQLBind(session.tokenHash), SQLBind(session.id), SQLBind(session.operatorID), SQLBind(session.createdAt),
                    SQLBind(session.lastSeenAt), SQLBind(session.expiresAt), SQLBind(session.clientIP), SQLBind(session.userAgent)
                )
                .run()
            return true
        }
    }

    /// The session with this token hash and its operator.
    /// One query (a join) and a cached statement: every cookie request makes it.
    func session(tokenHash: String) async throws -> (SessionRecord, OperatorRecord)? {
        try await database.read { sql in
            let row = try await StatementCache.statement("session.with_operator", binds: [tokenHash], on: sql) { sql in
                sql.select()
                    .columns(SessionRecord.columns.map { SQLColumn($0, table: "sessions") })
                    .columns(OperatorRecord.columns.map { SQLAlias(SQLColumn($0, table: "operators"), as: SQLIdentifier("op_" + $0)) })
                    .from("sessions")
                    .join("operators", on: SQLColumn("operator_id", table: "sessions"), .equal, SQLColumn("id", table: "operators"))
                    .where(SQLColumn("token_hash", table: "sessions"), .equal, SQLBind(tokenHash))
                    .limit(1).query
            }.first()
            guard let row else { return nil }
            return (try SessionRecord(row: row), try OperatorRecord(row: row, prefix: "op_"))
        }
    }

    /// Moves the session's last-seen time to `now` unless another request already moved it
    /// past `staleBefore` (concurrent requests of one session then write once).
    func touchSession(tokenHash: String, now: Date, staleBefore: Date) async throws {
        try await database.autocommit { sql in
            try await sql.update("sessions")
                .set("last_seen_at", to: SQLBind(Timestamp.string(from: now)))
                .where("token_hash", .equal, SQLBind(tokenHash))
                .where("last_seen_at", .lessThan, SQLBind(Timestamp.string(from: staleBefore)))
                .run()
        }
    }

    func deleteSession(tokenHash: String) async throws {
        try await database.transaction { sql in
            try await sql.delete(from: "sessions").where("token_hash", .equal, SQLBind(tokenHash)).run()
        }
    }

    /// Deletes one of the operator's sessions by its public id; false if there is no such session
    /// of theirs.
    func deleteSession(id: String, operatorID: String) async throws -> Bool {
        try await database.transaction { sql in
            let found = try await sql.select().column("id").from("sessions")
                .where("id", .equal, SQLBind(id)).where("operator_id", .equal, SQLBind(operatorID)).first() != nil
            if found {
                try await sql.delete(from: "sessions").where("id", .equal, SQLBind(id)).where("operator_id", .equal, SQLBind(operatorID)).run()
            }
            return found
        }
    }

    /// Deletes every session of the operator except the one with `keeping` as token hash.
    func deleteSessions(operatorID: String, keeping: String? = nil) async throws {
        try await database.transaction { sql in try await Self.deleteSessions(operatorID: operatorID, keeping: keeping, in: sql) }
    }

    private static func deleteSessions(operatorID: String, keeping: String?, in sql: any SQLDatabase) async throws {
        var query = sql.delete(from: "sessions").where("operator_id", .equal, SQLBind(operatorID))
        if let keeping {
            query = query.where("token_hash", .notEqual, SQLBind(keeping))
        }
        try await query.run()
    }

    func sessions(operatorID: String) async throws -> [SessionRecord] {
        try await database.read { sql in
            try await sql.select().columns(SessionRecord.columns.map { SQLColumn($0) }).from("sessions")
                .where("operator_id", .equal, SQLBind(operatorID))
                .orderBy("created_at", .descending)
                .all()
                .map { try SessionRecord(row: $0) }
        }
    }
}

extension IdentityRepository {
    // MARK: TOTP

    /// Failed codes allowed before TOTP attempts are refused, and for how long.
    static let totpMaximumFailures = 5
    static let totpLockout: TimeInterval = 15 * 60

    /// The outcome of one TOTP attempt.
    enum TOTPAttempt: Sendable { case accepted, rejected, locked }

    /// Checks a code's step for the operator, atomically: a step no later than the last
    /// accepted one is a replay; a wrong code (`step` nil) or a replay counts as a failure, and
    /// five failures lock TOTP attempts for 15 minutes (a 6-digit code cannot be guessed then).
    func attemptTOTP(operatorID: String, step: Int64?, now: Date) async throws -> TOTPAttempt {
        try await database.transaction { sql in
            // FOR UPDATE on PostgreSQL (SQLite's BEGIN IMMEDIATE already serializes writers).
            guard let row = try await sql.select().columns("totp_last_step", "totp_failures", "totp_locked_until").from("operators")
                .where("id", .equal, SQLBind(operatorID)).for(.update).first() else { return .rejected }
            let stamp = Timestamp.string(from: now)
            if let until = try row.decode(column: "totp_locked_until", as: String?.self), until > stamp { return .locked }
            let last = try row.decode(column: "totp_last_step", as: Int64?.self)
            if let step, last.map({ step > $0 }) ?? true {
                try await sql.update("operators").set("totp_last_step", to: SQLBind(step)).set("totp_failures", to: SQLBind(0))
                    .set("totp_locked_until", to: SQLLiteral.null)
                    .where("id", .equal, SQLBind(operatorID)).run()
                return .accepted
            }
            let failures = try row.decode(column: "totp_failures", as: Int.self) + 1
            let locked = failures >= Self.totpMaximumFailures
            try await sql.update("operators")
                .set("totp_failures", to: SQLBind(locked ? 0 : failures))
                .set("totp_locked_until", to: locked ? SQLBind(Timestamp.string(from: now.addingTimeInterval(Self.totpLockout))) : SQLBind(String?.none))
                .where("id", .equal, SQLBind(operatorID)).run()
            return locked ? .locked : .rejected
        }
    }

    func setTOTP(operatorID: String, secret: String?, enabled: Bool, now: Date, also: @escaping AlsoInTransaction = { _ in }) async throws {
        try await database.transaction { sql in
            try await sql.update("operators")
                .set("totp_secret", to: SQLBind(secret))
                .set("totp_enabled", to: SQLBind(enabled))
                .set("updated_at", to: SQLBind(Timestamp.string(from: now)))
                .where("id", .equal, SQLBind(operatorID))
                .run()
            try await also(sql)
        }
    }

    /// Turns TOTP on only if the pending secret is still the one the code was checked against.
    func enableTOTP(operatorID: String, secret: String, now: Date, also: @escaping AlsoInTransaction) async throws -> Bool {
        try await database.transaction { sql in
            let row = try await sql.select().columns("totp_secret", "totp_enabled").from("operators")
                .where("id", .equal, SQLBind(operatorID)).for(.update).first()
            guard let row, try row.decode(column: "totp_secret", as: String?.self) == secret,
                  try !row.decode(column: "totp_enabled", as: Bool.self) else { return false }
            try await sql.update("operators").set("totp_enabled", to: SQLBind(true))
                .set("updated_at", to: SQLBind(Timestamp.string(from: now)))
                .where("id", .equal, SQLBind(operatorID)).run()
            try await also(sql)
            return true
        }
    }
}

extension IdentityRepository {
    // MARK: Password reset tokens

    /// How long a fresh reset token stands before another request may replace it.
    static let resetCooldown: TimeInterval = 60

    /// Stores a new reset token's hash and voids every older token of the operator. Requests are
    /// ordered by when they arrived (`now`), not by when this runs: if a later request's token is
    /// already stored, this one is dropped and false is returned.
    @discardableResult
    func replaceResetToken(operatorID: String, tokenHash: String, now: Date, expiresAt: Date, also: @escaping AlsoInTransaction = { _ in }) async throws -> Bool {
        try await database.transaction { sql in
            // The operator row is the lock that orders concurrent requests (PostgreSQL; SQLite's
            // BEGIN IMMEDIATE already serializes them).
            _ = try await sql.select().column("id").from("operators").where("id", .equal, SQLBind(operatorID)).for(.update).first()
            // A token issued within the cooldown, or after this request arrived, stands: repeated
            // requests cannot keep voiding the link the user just received.
            let recent = try await sql.select().column("token_hash").from("password_reset_tokens")
                .where("operator_id", .equal, SQLBind(operatorID))
                .where("created_at", .greaterThan, SQLBind(Timestamp.string(from: now.addingTimeInterval(-Self.resetCooldown))))
                .where("used_at", .is, SQLLiteral.null)
                .first()
            guard recent == nil else { return false }
            try await sql.delete(from: "password_reset_tokens").where("operator_id", .equal, SQLBind(operatorID)).run()
            try await sql.insert(into: "password_reset_tokens")
                .columns("token_hash", "operator_id", "created_at", "expires_at")
                .values(SQLBind(tokenHash), SQLBind(operatorID), SQLBind(Timestamp.string(from: now)), SQLBind(Timestamp.string(from: expiresAt)))
                .run()
            try await also(sql)
            return true
        }
    }

    /// The operator a usable (unused, unexpired) token belongs to, without using it.
    func resetTokenOperator(tokenHash: String, now: Date) async throws -> String? {
        try await database.read { sql in
            try await sql.select().column("operator_id").from("password_reset_tokens")
                .where("token_hash", .equal, SQLBind(tokenHash))
                .where("used_at", .is, SQLLiteral.null)
                .where("expires_at", .greaterThan, SQLBind(Timestamp.string(from: now)))
                .first()?.decode(column: "operator_id", as: String.self)
        }
    }

    /// Completes a reset in one transaction: marks the token used if it is unused, unexpired
    /// and `operatorID`'s, sets the new hash, ends every session of the operator and runs
    /// `also` (the notice). A token works once even when confirmed twice at the same moment,
    /// and a crash leaves either the old password and a usable token, or all of it done.
    func completeReset(tokenHash: String, operatorID: String, hash: String, now: Date, also: @escaping AlsoInTransaction) async throws -> Bool {
        try await database.transaction { sql in
            guard let row = try await sql.select().columns("operator_id", "expires_at", "used_at").from("password_reset_tokens")
                .where("token_hash", .equal, SQLBind(tokenHash)).for(.update).first() else { return false }
            let expiresAt = try row.decode(column: "expires_at", as: String.self)
            let usedAt = try row.decode(column: "used_at", as: String?.self)
            guard usedAt == nil, expiresAt > Timestamp.string(from: now),
                  try row.decode(column: "operator_id", as: String.self) == operatorID else { return false }
            try await sql.update("password_reset_tokens").set("used_at", to: SQLBind(Timestamp.string(from: now)))
                .where("token_hash", .equal, SQLBind(tokenHash)).run()
            try await Self.setPassword(operatorID: operatorID, hash: hash, now: now, in: sql)
            try await Self.deleteSessions(operatorID: operatorID, keeping: nil, in: sql)
            try await also(sql)
            return true
        }
    }

    /// Disables an operator and ends every session of theirs.
    func disableOperator(id: String, now: Date, also: @escaping AlsoInTransaction) async throws {
        try await database.transaction { sql in
            try await sql.update("operators").set("is_active", to: SQLBind(false))
                .set("updated_at", to: SQLBind(Timestamp.string(from: now)))
                .where("id", .equal, SQLBind(id)).run()
            try await Self.deleteSessions(operatorID: id, keeping: nil, in: sql)
            try await also(sql)
        }
    }
}
