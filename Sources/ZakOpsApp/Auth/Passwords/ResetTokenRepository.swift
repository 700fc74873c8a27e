import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for `password_reset_tokens` (SHA-256 of each token only). Stateless, on the caller's
/// transaction; every value is bound. The cooldown and single use are `PasswordResetService`'s.
enum ResetTokenRepository {
    /// Whether the operator has an unused token created after `since`.
    static func hasUnused(operatorID: String, createdAfter since: Date, in sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("token_hash").from("password_reset_tokens")
            .where("operator_id", .equal, SQLBind(operatorID))
            .where("created_at", .greaterThan, SQLBind(Timestamp.string(from: since)))
            .where("used_at", .is, SQLLiteral.null)
            .first() != nil
    }

    /// Replaces every token of the operator with this one.
    static func replace(operatorID: String, tokenHash: String, now: Date, expiresAt: Date, in sql: any SQLDatabase) async throws {
        try await sql.delete(from: "password_reset_tokens").where("operator_id", .equal, SQLBind(operatorID)).run()
        try await sql.insert(into: "password_reset_tokens")
            .columns("token_hash", "operator_id", "created_at", "expires_at")
            .values(SQLBind(tokenHash), SQLBind(operatorID), SQLBind(Timestamp.string(from: now)), SQLBind(Timestamp.string(from: expiresAt)))
            .run()
    }

    /// The operator a usable (unused, unexpired) token belongs to, without using it.
    static func usableOperator(tokenHash: String, now: Date, in sql: any SQLDatabase) async throws -> String? {
        try await sql.select().column("operator_id").from("password_reset_tokens")
            .where("token_hash", .equal, SQLBind(tokenHash))
            .where("used_at", .is, SQLLiteral.null)
            .where("expires_at", .greaterThan, SQLBind(Timestamp.string(from: now)))
            .first()?.decode(column: "operator_id", as: String.self)
    }

    /// The token's owner, expiry and use, locking the row until commit.
    static func lock(tokenHash: String, in sql: any SQLDatabase) async throws -> (operatorID: String, expiresAt: String, usedAt: String?)? {
        guard let row = try await sql.select().columns("operator_id", "expires_at", "used_at").from("password_reset_tokens")
            .where("token_hash", .equal, SQLBind(tokenHash)).for(.update).first() else { return nil }
        return (try row.decode(column: "operator_id", as: String.self), try row.decode(column: "expires_at", as: String.self),
                try row.decode(column: "used_at", as: String?.self))
    }

    static func markUsed(tokenHash: String, now: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("password_reset_tokens").set("used_at", to: SQLBind(Timestamp.string(from: now)))
            .where("token_hash", .equal, SQLBind(tokenHash)).run()
    }
}
