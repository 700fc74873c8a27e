import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for the `operators` table (the people who sign in). Stateless: every function runs on
/// the caller's connection or transaction, and every value is bound.
enum OperatorRepository {
    static func byEmail(_ email: String, in sql: any SQLDatabase) async throws -> OperatorRecord? {
        try await sql.select().columns(OperatorRecord.columns.map { SQLColumn($0) }).from("operators")
            .where(SQLFunction("lower", args: SQLColumn("email")), .equal, SQLFunction("lower", args: SQLBind(email)))
            .first()
            .map { try OperatorRecord(row: $0) }
    }

    static func byID(_ id: String, in sql: any SQLDatabase) async throws -> OperatorRecord? {
        try await sql.select().columns(OperatorRecord.columns.map { SQLColumn($0) }).from("operators")
            .where("id", .equal, SQLBind(id))
            .first()
            .map { try OperatorRecord(row: $0) }
    }

    static func count(in sql: any SQLDatabase) async throws -> Int {
        try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("operators")
            .first()?.decode(column: "n", as: Int.self) ?? 0
    }

    /// Inserts an operator; a duplicate e-mail (any case) is `CONFLICT`. Run it in a
    /// transaction: the check and the insert must see the same table.
    static func insert(email: String, name: String, role: Role, passwordHash: String, mustResetPassword: Bool, now: Date,
                       active: Bool = true, approvalPending: Bool = false, createdBy: String? = nil,
                       in sql: any SQLDatabase) async throws -> String {
        let taken = try await sql.select().column("id").from("operators")
            .where(SQLFunction("lower", args: SQLColumn("email")), .equal, SQLFunction("lower", args: SQLBind(email)))
            .first() != nil
        if taken {
            throw AppError(.conflict, field: "email", problem: "is already registered")
        }
        let id = PublicID.make(.operatorAccount)
        let stamp = Timestamp.string(from: now)
        try await sql.insert(into: "operators")
            .columns("id", "email", "name", "role", "password_hash", "is_active", "must_reset_password", "approval_pending", "created_by",
                     "created_at", "updated_at")
            .values(SQLBind(id), SQLBind(email), SQLBind(name), SQLBind(role.rawValue), SQLBind(passwordHash), SQLBind(active),
                    SQLBind(mustResetPassword), SQLBind(approvalPending), SQLBind(createdBy), SQLBind(stamp), SQLBind(stamp))
            .run()
        return id
    }

    /// The password hash and active flag, locking the row until commit (PostgreSQL; SQLite's
    /// BEGIN IMMEDIATE already serializes writers). Used to order changes of one operator.
    static func lockCredentials(_ id: String, in sql: any SQLDatabase) async throws -> (passwordHash: String, isActive: Bool, resetRequired: Bool)? {
        guard let row = try await sql.select().columns("password_hash", "is_active", "reset_required").from("operators")
            .where("id", .equal, SQLBind(id)).for(.update).first() else { return nil }
        return (try row.decode(column: "password_hash", as: String.self), try row.decode(column: "is_active", as: Bool.self),
                try row.decode(column: "reset_required", as: Bool.self))
    }

    /// Sets a new password hash and clears a forced reset (either kind).
    static func setPassword(_ id: String, hash: String, now: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("operators")
            .set("password_hash", to: SQLBind(hash))
            .set("must_reset_password", to: SQLBind(false))
            .set("reset_required", to: SQLBind(false))
            .set("updated_at", to: SQLBind(Timestamp.string(from: now)))
            .where("id", .equal, SQLBind(id))
            .run()
    }

    /// Replaces the hash only (a cost upgrade after a login).
    static func replaceHash(_ id: String, with hash: String, in sql: any SQLDatabase) async throws {
        try await sql.update("operators").set("password_hash", to: SQLBind(hash)).where("id", .equal, SQLBind(id)).run()
    }

    static func recordLogin(_ id: String, now: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("operators")
            .set("last_login_at", to: SQLBind(Timestamp.string(from: now)))
            .where("id", .equal, SQLBind(id))
            .run()
    }

    static func disable(_ id: String, now: Date, in sql: any SQLDatabase) async throws {
        let stamp = SQLBind(Timestamp.string(from: now))
        try await sql.update("operators").set("is_active", to: SQLBind(false)).set("disabled_at", to: stamp).set("updated_at", to: stamp)
            .where("id", .equal, SQLBind(id)).run()
    }
}
