import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// A service account (an AI agent's identity) and its API keys. Keys are stored as SHA-256.
/// Every change writes its audit entry in its own transaction.
struct ServiceAccountRepository: Sendable {
    let database: Database

    struct Account: Sendable, Codable, Equatable {
        let id: String
        let name: String
        let role: String
        let isActive: Bool
        let createdAt: String

        enum CodingKeys: String, CodingKey {
            case id, name, role
            case isActive = "is_active"
            case createdAt = "created_at"
        }
    }

    struct Key: Sendable, Codable, Equatable {
        let id: String
        let createdAt: String
        let lastUsedAt: String?
        let revokedAt: String?

        enum CodingKeys: String, CodingKey {
            case id
            case createdAt = "created_at"
            case lastUsedAt = "last_used_at"
            case revokedAt = "revoked_at"
        }
    }

    func create(name: String, role: Role, by context: ChangeContext, reply: @escaping @Sendable (Account) throws -> Reply) async throws -> Account {
        let account = Account(id: PublicID.make(.serviceAccount), name: name, role: role.rawValue, isActive: true, createdAt: Timestamp.string(from: context.time))
        try await database.transaction { sql in
            try await sql.insert(into: "service_accounts")
                .columns("id", "name", "role", "is_active", "created_at", "updated_at")
                .values(SQLBind(account.id), SQLBind(name), SQLBind(role.rawValue), SQLBind(true), SQLBind(account.createdAt), SQLBind(account.createdAt))
                .run()
            try await AuditLog.record(action: "service_account.created", targetKind: "service_account", targetID: account.id,
                                      changes: ["name": FieldChange(before: nil, after: .string(name)),
                                                "role": FieldChange(before: nil, after: .string(role.rawValue))],
                                      context: context, in: sql)
            try await context.record(try reply(account), in: sql)
        }
        return account
    }

    func list() async throws -> [Account] {
        try await database.read { sql in
            try await sql.select().columns("id", "name", "role", "is_active", "created_at").from("service_accounts")
                .orderBy("created_at").all()
                .map { row in
                    Account(
                        id: try row.decode(column: "id", as: String.self),
                        name: try row.decode(column: "name", as: String.self),
                        role: try row.decode(column: "role", as: String.self),
                        isActive: try row.decode(column: "is_active", as: Bool.self),
                        createdAt: try row.decode(column: "created_at", as: String.self)
                    )
                }
        }
    }

    func exists(_ id: String) async throws -> Bool {
        try await database.read { sql in
            try await sql.select().column("id").from("service_accounts").where("id", .equal, SQLBind(id)).first() != nil
        }
    }

    /// Stores a new key's hash; the key itself is returned to the caller once and never again.
    /// `mintedBy` is the operator who asked for it: they may not approve what the key proposes.
    /// `replay` is the answer an idempotent replay gets (given the key's id): it never holds the key.
    func addKey(accountID: String, keyHash: String, by context: ChangeContext, replay: @escaping @Sendable (String) throws -> Reply) async throws -> String {
        let id = PublicID.make(.apiKey)
        try await database.transaction { sql in
            guard try await sql.select().column("id").from("service_accounts").where("id", .equal, SQLBind(accountID)).first() != nil else {
                throw AppError(.notFound)
            }
            try await sql.insert(into: "api_keys")
                .columns("id", "service_account_id", "key_hash", "created_at", "created_by")
                .values(SQLBind(id), SQLBind(accountID), SQLBind(keyHash), SQLBind(Timestamp.string(from: context.time)), SQLBind(context.actorID))
                .run()
            try await AuditLog.record(action: "api_key.created", targetKind: "service_account", targetID: accountID,
                                      changes: ["key_id": FieldChange(before: nil, after: .string(id))], context: context, in: sql)
            try await context.record(try replay(id), in: sql)
        }
        return id
    }

    /// A new key as the API answers it: the key itself only in the first response.
    struct MintedKey: Sendable, Encodable {
        let id: String
        let key: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)
            try container.encode(key, forKey: .key)
        }
        enum CodingKeys: String, CodingKey { case id, key }
    }

    /// The account's keys (ids and dates; never the key or its hash).
    func keys(accountID: String) async throws -> [Key] {
        try await database.read { sql in
            try await sql.select().columns("id", "created_at", "last_used_at", "revoked_at").from("api_keys")
                .where("service_account_id", .equal, SQLBind(accountID)).orderBy("created_at").all()
                .map { row in
                    Key(
                        id: try row.decode(column: "id", as: String.self),
                        createdAt: try row.decode(column: "created_at", as: String.self),
                        lastUsedAt: try row.decode(column: "last_used_at", as: String?.self),
                        revokedAt: try row.decode(column: "revoked_at", as: String?.self)
                    )
                }
        }
    }

    /// Disables the account and revokes every live key of it, in one transaction; false if
    /// there is no such account.
    func disable(accountID: String, by context: ChangeContext) async throws -> Bool {
        try await database.transaction { sql in
            guard let row = try await sql.select().column("is_active").from("service_accounts").where("id", .equal, SQLBind(accountID)).first() else {
                return false
            }
            let stamp = Timestamp.string(from: context.time)
            if try row.decode(column: "is_active", as: Bool.self) {
                try await AuditLog.record(action: "service_account.disabled", targetKind: "service_account", targetID: accountID,
                                          changes: ["is_active": FieldChange(before: .bool(true), after: .bool(false))], context: context, in: sql)
            }
            try await sql.update("service_accounts").set("is_active", to: SQLBind(false)).set("updated_at", to: SQLBind(stamp))
                .where("id", .equal, SQLBind(accountID)).run()
            try await sql.update("api_keys").set("revoked_at", to: SQLBind(stamp))
                .where("service_account_id", .equal, SQLBind(accountID)).where("revoked_at", .is, SQLLiteral.null).run()
            return true
        }
    }

    /// Revokes a key of the account; false if the account has no such live key.
    func revokeKey(accountID: String, keyID: String, by context: ChangeContext) async throws -> Bool {
        try await database.transaction { sql in
            let found = try await sql.select().column("id").from("api_keys")
                .where("id", .equal, SQLBind(keyID)).where("service_account_id", .equal, SQLBind(accountID))
                .where("revoked_at", .is, SQLLiteral.null).first() != nil
            if found {
                try await sql.update("api_keys").set("revoked_at", to: SQLBind(Timestamp.string(from: context.time)))
                    .where("id", .equal, SQLBind(keyID)).run()
                try await AuditLog.record(action: "api_key.revoked", targetKind: "service_account", targetID: accountID,
                                          changes: ["key_id": FieldChange(before: .string(keyID), after: nil)], context: context, in: sql)
            }
            return found
        }
    }

    /// The principal for an API key's hash: nil for an unknown or revoked key or a disabled account.
    func principal(keyHash: String, now: Date) async throws -> Principal? {
        let staleBefore = Timestamp.string(from: now.addingTimeInterval(-60))
        let found: (principal: Principal, stale: Bool)? = try await database.read { sql in
            guard let key = try await sql.select().columns("id", "service_account_id", "last_used_at").from("api_keys")
                .where("key_hash", .equal, SQLBind(keyHash))
                .where("revoked_at", .is, SQLLiteral.null)
                .first() else { return nil }
            let accountID = try key.decode(column: "service_account_id", as: String.self)
            guard let account = try await sql.select().columns("id", "name", "role", "is_active").from("service_accounts")
                .where("id", .equal, SQLBind(accountID)).first(),
                  try account.decode(column: "is_active", as: Bool.self),
                  let role = Role(rawValue: try account.decode(column: "role", as: String.self)) else { return nil }
            let lastUsed = try key.decode(column: "last_used_at", as: String?.self)
            let principal = Principal(
                id: accountID, kind: .service, role: role, email: nil,
                name: try account.decode(column: "name", as: String.self),
                permissions: role.serviceAccountPermissions
            )
            return (principal, lastUsed.map { $0 < staleBefore } ?? true)
        }
        guard let found else { return nil }
        // last_used_at at most once a minute per key, as a write of its own (reads never write:
        // SQLite writes go through the one writer connection).
        if found.stale {
            try await database.autocommit { sql in
                try await sql.update("api_keys").set("last_used_at", to: SQLBind(Timestamp.string(from: now)))
                    .where("key_hash", .equal, SQLBind(keyHash))
                    .where { $0.where("last_used_at", .is, SQLLiteral.null).orWhere("last_used_at", .lessThan, SQLBind(staleBefore)) }
                    .run()
            }
        }
        return found.principal
    }
}
