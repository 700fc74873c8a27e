import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for the TOTP columns of `operators`. Stateless, on the caller's transaction; every value
/// is bound. The lockout rules are `TOTPService`'s.
enum TOTPRepository {
    /// What the attempt rules need, locking the row until commit (PostgreSQL; SQLite's BEGIN
    /// IMMEDIATE already serializes writers).
    struct AttemptState: Sendable {
        let lastStep: Int64?
        let failures: Int
        let lockedUntil: String?
    }

    static func lockAttemptState(operatorID: String, in sql: any SQLDatabase) async throws -> AttemptState? {
        guard let row = try await sql.select().columns("totp_last_step", "totp_failures", "totp_locked_until").from("operators")
            .where("id", .equal, SQLBind(operatorID)).for(.update).first() else { return nil }
        return AttemptState(lastStep: try row.decode(column: "totp_last_step", as: Int64?.self),
                            failures: try row.decode(column: "totp_failures", as: Int.self),
                            lockedUntil: try row.decode(column: "totp_locked_until", as: String?.self))
    }

    /// Records an accepted step: failures and any lockout cleared.
    static func accept(step: Int64, operatorID: String, in sql: any SQLDatabase) async throws {
        try await sql.update("operators").set("totp_last_step", to: SQLBind(step)).set("totp_failures", to: SQLBind(0))
            .set("totp_locked_until", to: SQLLiteral.null)
            .where("id", .equal, SQLBind(operatorID)).run()
    }

    /// Records the failure count and, when it locked, until when.
    static func recordFailures(_ failures: Int, lockedUntil: String?, operatorID: String, in sql: any SQLDatabase) async throws {
        try await sql.update("operators")
            .set("totp_failures", to: SQLBind(failures))
            .set("totp_locked_until", to: SQLBind(lockedUntil))
            .where("id", .equal, SQLBind(operatorID)).run()
    }

    /// The secret (pending or confirmed) and whether TOTP is on, locking the row until commit.
    static func lockSecret(operatorID: String, in sql: any SQLDatabase) async throws -> (secret: String?, enabled: Bool)? {
        guard let row = try await sql.select().columns("totp_secret", "totp_enabled").from("operators")
            .where("id", .equal, SQLBind(operatorID)).for(.update).first() else { return nil }
        return (try row.decode(column: "totp_secret", as: String?.self), try row.decode(column: "totp_enabled", as: Bool.self))
    }

    static func set(secret: String?, enabled: Bool, operatorID: String, now: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("operators")
            .set("totp_secret", to: SQLBind(secret))
            .set("totp_enabled", to: SQLBind(enabled))
            .set("updated_at", to: SQLBind(Timestamp.string(from: now)))
            .where("id", .equal, SQLBind(operatorID))
            .run()
    }
}
