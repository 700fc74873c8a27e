import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for user administration: the operator rows as administrators see them. Stateless, on
/// the caller's connection or transaction; every value is bound.
enum UserRepository {
    static let columns = ["id", "email", "name", "role", "is_active", "approval_pending", "reset_required", "totp_enabled", "last_login_at",
                          "created_at", "disabled_at", "erased_at", "created_by"]

    /// Operators in creation order after `cursor` (created_at, id), filtered.
    static func list(role: Role?, status: UserAdmin.Status?, after cursor: (String, String)?, limit: Int, in sql: any SQLDatabase) async throws -> [UserAdmin.User] {
        var select = sql.select().columns(columns.map { SQLColumn($0) }).from("operators")
        if let role { select = select.where("role", .equal, SQLBind(role.rawValue)) }
        if let status { select = filter(select, status) }
        if let (time, id) = cursor {
            select = select.where { group in
                group.where("created_at", .greaterThan, SQLBind(time))
                    .orWhere { $0.where("created_at", .equal, SQLBind(time)).where("id", .greaterThan, SQLBind(id)) }
            }
        }
        let rows = try await select.orderBy("created_at").orderBy("id").limit(limit).all()
        return try await withSessionCounts(try rows.map(user), in: sql)
    }

    /// Every operator (the access review, the playbooks), erased ones excluded.
    static func all(in sql: any SQLDatabase) async throws -> [UserAdmin.User] {
        let rows = try await sql.select().columns(columns.map { SQLColumn($0) }).from("operators")
            .where("erased_at", .is, SQLLiteral.null).orderBy("created_at").orderBy("id").all()
        return try await withSessionCounts(try rows.map(user), in: sql)
    }

    static func byID(_ id: String, in sql: any SQLDatabase) async throws -> UserAdmin.User? {
        guard let row = try await sql.select().columns(columns.map { SQLColumn($0) }).from("operators").where("id", .equal, SQLBind(id)).first()
        else { return nil }
        return try await withSessionCounts([try user(row)], in: sql).first
    }

    private static func filter(_ select: SQLSelectBuilder, _ status: UserAdmin.Status) -> SQLSelectBuilder {
        switch status {
        case .erased:
            return select.where("erased_at", .isNot, SQLLiteral.null)
        case .pending:
            return select.where("approval_pending", .equal, SQLBind(true)).where("erased_at", .is, SQLLiteral.null)
        case .disabled:
            return select.where("is_active", .equal, SQLBind(false)).where("approval_pending", .equal, SQLBind(false)).where("erased_at", .is, SQLLiteral.null)
        case .active:
            return select.where("is_active", .equal, SQLBind(true))
        }
    }

    private static func user(_ row: any SQLRow) throws -> UserAdmin.User {
        let erased = try row.decode(column: "erased_at", as: String?.self)
        let status: UserAdmin.Status
        if erased != nil {
            status = .erased
        } else if try row.decode(column: "approval_pending", as: Bool.self) {
            status = .pending
        } else {
            status = try row.decode(column: "is_active", as: Bool.self) ? .active : .disabled
        }
        return UserAdmin.User(
            id: try row.decode(column: "id", as: String.self),
            email: erased == nil ? try row.decode(column: "email", as: String.self) : nil,
            name: erased == nil ? try row.decode(column: "name", as: String.self) : nil,
            role: Role(rawValue: try row.decode(column: "role", as: String.self)) ?? .viewer,
            status: status,
            mfaEnabled: try row.decode(column: "totp_enabled", as: Bool.self),
            resetRequired: try row.decode(column: "reset_required", as: Bool.self),
            lastLoginAt: try row.decode(column: "last_login_at", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            createdBy: try row.decode(column: "created_by", as: String?.self),
            disabledAt: try row.decode(column: "disabled_at", as: String?.self),
            openSessions: 0
        )
    }

    /// The users with their count of sessions that have not expired.
    private static func withSessionCounts(_ users: [UserAdmin.User], in sql: any SQLDatabase) async throws -> [UserAdmin.User] {
        guard !users.isEmpty else { return [] }
        let now = Timestamp.string(from: Date())
        let rows = try await sql.select().column("operator_id").column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("sessions")
            .where("operator_id", .in, users.map(\.id)).where("expires_at", .greaterThan, SQLBind(now))
            .groupBy("operator_id").all()
        var counts: [String: Int] = [:]
        for row in rows { counts[try row.decode(column: "operator_id", as: String.self)] = try row.decode(column: "n", as: Int.self) }
        return users.map { user in
            var user = user
            user.openSessions = counts[user.id] ?? 0
            return user
        }
    }

    /// Locks every admin row, in id order, before a change that could remove one: concurrent
    /// removals of two admins then queue instead of deadlocking (PostgreSQL; SQLite's writer
    /// lock already serializes them). Lock these first, then the target row.
    static func lockAdmins(in sql: any SQLDatabase) async throws {
        _ = try await sql.select().column("id").from("operators").where("role", .equal, SQLBind(Role.admin.rawValue))
            .orderBy("id").for(.update).all()
    }

    /// Whether an admin other than `id` can act: active, and able to sign in (not waiting for a
    /// forced reset or an invitation's first password). Run after `lockAdmins`.
    static func anotherActiveAdmin(excluding id: String, in sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("id").from("operators")
            .where("role", .equal, SQLBind(Role.admin.rawValue)).where("is_active", .equal, SQLBind(true))
            .where("reset_required", .equal, SQLBind(false)).where("id", .notEqual, SQLBind(id)).first() != nil
    }

    static func setRole(_ id: String, _ role: Role, now: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("operators").set("role", to: SQLBind(role.rawValue)).set("updated_at", to: SQLBind(Timestamp.string(from: now)))
            .where("id", .equal, SQLBind(id)).run()
    }

    static func setName(_ id: String, _ name: String, now: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("operators").set("name", to: SQLBind(name)).set("updated_at", to: SQLBind(Timestamp.string(from: now)))
            .where("id", .equal, SQLBind(id)).run()
    }

    /// Marks the operator as waiting for a password set through a mailed link (an invitation, an
    /// approved registration).
    static func awaitPassword(_ id: String, unusableHash: String, in sql: any SQLDatabase) async throws {
        try await sql.update("operators").set("reset_required", to: SQLBind(true)).set("password_hash", to: SQLBind(unusableHash))
            .where("id", .equal, SQLBind(id)).run()
    }

    /// Active again (approving a pending registration too).
    static func enable(_ id: String, now: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("operators").set("is_active", to: SQLBind(true)).set("approval_pending", to: SQLBind(false))
            .set("disabled_at", to: SQLLiteral.null).set("updated_at", to: SQLBind(Timestamp.string(from: now)))
            .where("id", .equal, SQLBind(id)).run()
    }

    /// Marks a forced reset (sign-in refused until the link is used).
    static func requireReset(_ ids: [String], now: Date, in sql: any SQLDatabase) async throws {
        guard !ids.isEmpty else { return }
        try await sql.update("operators").set("reset_required", to: SQLBind(true)).set("updated_at", to: SQLBind(Timestamp.string(from: now)))
            .where("id", .in, ids).run()
    }

    /// Removes the person from the row: e-mail, name, password, second factor. The id stays,
    /// the pseudonym the audit trail and the deals' authorship keep.
    static func erase(_ id: String, unusableHash: String, now: Date, in sql: any SQLDatabase) async throws {
        let stamp = SQLBind(Timestamp.string(from: now))
        try await sql.update("operators")
            .set("email", to: SQLBind("erased+\(id)@erased.invalid")).set("name", to: SQLBind("Erased user"))
            .set("password_hash", to: SQLBind(unusableHash)).set("totp_secret", to: SQLLiteral.null).set("totp_enabled", to: SQLBind(false))
            .set("is_active", to: SQLBind(false)).set("approval_pending", to: SQLBind(false)).set("reset_required", to: SQLBind(false))
            .set("last_login_at", to: SQLLiteral.null).set("erased_at", to: stamp).set("disabled_at", to: stamp).set("updated_at", to: stamp)
            .where("id", .equal, SQLBind(id)).run()
        try await sql.delete(from: "password_reset_tokens").where("operator_id", .equal, SQLBind(id)).run()
    }
}
