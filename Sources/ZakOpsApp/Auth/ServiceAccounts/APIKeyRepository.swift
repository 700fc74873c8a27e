import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for `api_keys` (the SHA-256 of each key only). Stateless, on the caller's connection or
/// transaction; every value is bound.
enum APIKeyRepository {
    static func insert(id: String, accountID: String, keyHash: String, createdAt: String, createdBy: String, in sql: any SQLDatabase) async throws {
        try await sql.insert(into: "api_keys")
            .columns("id", "service_account_id", "key_hash", "created_at", "created_by")
            .values(SQLBind(id), SQLBind(accountID), SQLBind(keyHash), SQLBind(createdAt), SQLBind(createdBy))
            .run()
    }

    /// The account's keys (ids and dates; never the key or its hash).
    static func list(accountID: String, in sql: any SQLDatabase) async throws -> [ServiceAccountService.Key] {
        try await sql.select().columns("id", "created_at", "last_used_at", "revoked_at").from("api_keys")
            .where("service_account_id", .equal, SQLBind(accountID)).orderBy("created_at").all()
            .map { row in
                ServiceAccountService.Key(
                    id: try row.decode(column: "id", as: String.self),
                    createdAt: try row.decode(column: "created_at", as: String.self),
                    lastUsedAt: try row.decode(column: "last_used_at", as: String?.self),
                    revokedAt: try row.decode(column: "revoked_at", as: String?.self)
                )
            }
    }

    /// A live (unrevoked) key by its hash: its account and when it was last used.
    static func live(keyHash: String, in sql: any SQLDatabase) async throws -> (accountID: String, lastUsedAt: String?)? {
        guard let key = try await sql.select().columns("id", "service_account_id", "last_used_at").from("api_keys")
            .where("key_hash", .equal, SQLBind(keyHash))
            .where("revoked_at", .is, SQLLiteral.null)
            .first() else { return nil }
        return (try key.decode(column: "service_account_id", as: String.self), try key.decode(column: "last_used_at", as: String?.self))
    }

    /// Whether the account has a live key with this id.
    static func isLive(_ keyID: String, accountID: String, in sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("id").from("api_keys")
            .where("id", .equal, SQLBind(keyID)).where("service_account_id", .equal, SQLBind(accountID))
            .where("revoked_at", .is, SQLLiteral.null).first() != nil
    }

    static func revoke(_ keyID: String, at stamp: String, in sql: any SQLDatabase) async throws {
        try await sql.update("api_keys").set("revoked_at", to: SQLBind(stamp)).where("id", .equal, SQLBind(keyID)).run()
    }

    /// Revokes every live key of the account.
    static func revokeAll(accountID: String, at stamp: String, in sql: any SQLDatabase) async throws {
        try await sql.update("api_keys").set("revoked_at", to: SQLBind(stamp))
            .where("service_account_id", .equal, SQLBind(accountID)).where("revoked_at", .is, SQLLiteral.null).run()
    }

    /// Whether `operatorID` minted any key of the account (they may not approve what it proposes).
    static func minted(accountID: String, by operatorID: String, in sql: any SQLDatabase) async throws -> Bool {
        try await sql.select().column("id").from("api_keys").where("service_account_id", .equal, SQLBind(accountID))
            .where("created_by", .equal, SQLBind(operatorID)).first() != nil
    }

    /// Moves last_used_at to `now` unless another request already moved it past `staleBefore`.
    static func touch(keyHash: String, now: String, staleBefore: String, in sql: any SQLDatabase) async throws {
        try await sql.update("api_keys").set("last_used_at", to: SQLBind(now))
            .where("key_hash", .equal, SQLBind(keyHash))
            .where { $0.where("last_used_at", .is, SQLLiteral.null).orWhere("last_used_at", .lessThan, SQLBind(staleBefore)) }
            .run()
    }
}
