import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for `api_keys` (the SHA-256 of each key only). Stateless, on the caller's connection or
/// transaction; every value is bound.
enum APIKeyRepository {
    static func insert(id: String, accountID: String, keyHash: String, createdAt: String, expiresAt: String, createdBy: String, in sql: any SQLDatabase) async throws {
        try await sql.insert(into: "api_keys")
            .columns("id", "service_account_id", "key_hash", "created_at", "expires_at", "created_by")
            .values(SQLBind(id), SQLBind(accountID), SQLBind(keyHash), SQLBind(createdAt), SQLBind(expiresAt), SQLBind(createdBy))
            .run()
    }

    /// When a key stops working: its `expires_at`, or for a key made before keys expired, its
    /// creation plus the maximum age.
    static func effectiveExpiry(expiresAt: String?, createdAt: String, maxAge: TimeInterval) -> String {
        expiresAt ?? Timestamp.date(from: createdAt).map { Timestamp.string(from: $0.addingTimeInterval(maxAge)) } ?? createdAt
    }

    /// Ends the key's life at `until` (a rotation's grace) unless it ends sooner, and names its successor.
    static func shorten(_ keyID: String, until: String, replacedBy: String, in sql: any SQLDatabase) async throws {
        try await sql.update("api_keys").set("expires_at", to: SQLBind(until)).set("replaced_by", to: SQLBind(replacedBy))
            .where("id", .equal, SQLBind(keyID)).run()
    }

    /// The live key's creation and expiry, nil if the account has no such live key or a
    /// rotation already replaced it (a key hands over once).
    static func liveKey(_ keyID: String, accountID: String, in sql: any SQLDatabase) async throws -> (createdAt: String, expiresAt: String?)? {
        guard let row = try await sql.select().columns("created_at", "expires_at").from("api_keys")
            .where("id", .equal, SQLBind(keyID)).where("service_account_id", .equal, SQLBind(accountID))
            .where("revoked_at", .is, SQLLiteral.null).where("replaced_by", .is, SQLLiteral.null).for(.update).first() else { return nil }
        return (try row.decode(column: "created_at", as: String.self), try row.decode(column: "expires_at", as: String?.self))
    }

    /// The account's keys (ids and dates; never the key or its hash).
    static func list(accountID: String, in sql: any SQLDatabase) async throws -> [ServiceAccountService.Key] {
        try await sql.select().columns("id", "created_at", "last_used_at", "revoked_at", "expires_at", "created_by", "replaced_by").from("api_keys")
            .where("service_account_id", .equal, SQLBind(accountID)).orderBy("created_at").all()
            .map { row in
                ServiceAccountService.Key(
                    id: try row.decode(column: "id", as: String.self),
                    createdAt: try row.decode(column: "created_at", as: String.self),
                    lastUsedAt: try row.decode(column: "last_used_at", as: String?.self),
                    revokedAt: try row.decode(column: "revoked_at", as: String?.self),
                    expiresAt: try row.decode(column: "expires_at", as: String?.self),
                    createdBy: try row.decode(column: "created_by", as: String?.self),
                    replacedBy: try row.decode(column: "replaced_by", as: String?.self)
                )
            }
    }

    /// The principal of a live (unrevoked) key of an active account, and when the key was last
    /// used. One joined query and a cached statement: every request with a key makes it.
    static func principal(keyHash: String, in sql: any SQLDatabase) async throws -> (Principal, lastUsedAt: String?, createdAt: String, expiresAt: String?)? {
        let row = try await StatementCache.statement("api_key.principal", binds: [keyHash], on: sql) { sql in
            sql.select()
                .column(SQLColumn("last_used_at", table: "api_keys"))
                .column(SQLColumn("created_at", table: "api_keys"))
                .column(SQLColumn("expires_at", table: "api_keys"))
                .column(SQLColumn("id", table: "service_accounts"))
                .column(SQLColumn("name", table: "service_accounts"))
                .column(SQLColumn("role", table: "service_accounts"))
                .from("api_keys")
                .join("service_accounts", on: SQLColumn("service_account_id", table: "api_keys"), .equal, SQLColumn("id", table: "service_accounts"))
                .where(SQLColumn("key_hash", table: "api_keys"), .equal, SQLBind(keyHash))
                .where(SQLColumn("revoked_at", table: "api_keys"), .is, SQLLiteral.null)
                .where(SQLColumn("is_active", table: "service_accounts"), .equal, SQLLiteral.boolean(true))
                .limit(1).query
        }.first()
        guard let row, let role = Role(rawValue: try row.decode(column: "role", as: String.self)) else { return nil }
        let principal = Principal(id: try row.decode(column: "id", as: String.self), kind: .service, role: role, email: nil,
                                  name: try row.decode(column: "name", as: String.self), permissions: role.serviceAccountPermissions)
        return (principal, try row.decode(column: "last_used_at", as: String?.self), try row.decode(column: "created_at", as: String.self),
                try row.decode(column: "expires_at", as: String?.self))
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
