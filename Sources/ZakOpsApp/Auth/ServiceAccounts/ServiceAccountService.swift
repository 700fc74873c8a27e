import Foundation
import ZakOpsCore
import ZakOpsStore

/// A service account (an AI agent's identity) and its API keys. Keys are stored as SHA-256.
/// Every change writes its audit entry in its own transaction; the SQL is in
/// `ServiceAccountRepository` and `APIKeyRepository`.
struct ServiceAccountService: Sendable {
    let database: Database
    /// Where keys found are kept for `AUTH_CACHE_SECONDS` and their last use is noted; nil for
    /// the administration paths that never authenticate a key.
    var credentials: CredentialCache?
    var lastSeen: LastSeenRecorder?
    /// How long a key lives at most (`API_KEY_MAX_AGE_DAYS`).
    var maxKeyAge: TimeInterval = 90 * 86_400

    var maxKeyAgeDays: Int { Int(maxKeyAge / 86_400) }

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
        /// Nil for a key made before keys expired (it ends at its creation plus the maximum age).
        let expiresAt: String?
        let createdBy: String?
        /// The key a rotation issued in its place.
        let replacedBy: String?

        enum CodingKeys: String, CodingKey {
            case id
            case createdAt = "created_at"
            case lastUsedAt = "last_used_at"
            case revokedAt = "revoked_at"
            case expiresAt = "expires_at"
            case createdBy = "created_by"
            case replacedBy = "replaced_by"
        }
    }

    func create(name: String, role: Role, by context: ChangeContext, reply: @escaping @Sendable (Account) throws -> Reply) async throws -> Account {
        let account = Account(id: PublicID.make(.serviceAccount), name: name, role: role.rawValue, isActive: true, createdAt: Timestamp.string(from: context.time))
        try await database.transaction { sql in
            try await ServiceAccountRepository.insert(account, in: sql)
            try await AuditLog.record(action: "service_account.created", targetKind: "service_account", targetID: account.id,
                                      changes: ["name": FieldChange(before: nil, after: .string(name)),
                                                "role": FieldChange(before: nil, after: .string(role.rawValue))],
                                      context: context, in: sql)
            try await context.record(try reply(account), in: sql)
        }
        return account
    }

    func list() async throws -> [Account] {
        try await database.read { sql in try await ServiceAccountRepository.all(in: sql) }
    }

    func exists(_ id: String) async throws -> Bool {
        try await database.read { sql in try await ServiceAccountRepository.find(id, in: sql) != nil }
    }

    /// Stores a new key's hash; the key itself is returned to the caller once and never again.
    /// `mintedBy` is the operator who asked for it: they may not approve what the key proposes.
    /// `replay` is the answer an idempotent replay gets (given the key's id): it never holds the key.
    /// The key expires after `lifetime` (at most `maxKeyAge`; the maximum when nil).
    func addKey(accountID: String, keyHash: String, lifetime: TimeInterval? = nil, by context: ChangeContext,
                replay: @escaping @Sendable (String) throws -> Reply) async throws -> String {
        let id = PublicID.make(.apiKey)
        let expires = Timestamp.string(from: context.time.addingTimeInterval(min(lifetime ?? maxKeyAge, maxKeyAge)))
        try await database.transaction { sql in
            guard try await ServiceAccountRepository.find(accountID, in: sql) != nil else { throw AppError(.notFound) }
            try await APIKeyRepository.insert(id: id, accountID: accountID, keyHash: keyHash, createdAt: Timestamp.string(from: context.time),
                                              expiresAt: expires, createdBy: context.actorID, in: sql)
            try await AuditLog.record(action: "api_key.created", targetKind: "service_account", targetID: accountID,
                                      changes: ["key_id": FieldChange(before: nil, after: .string(id)),
                                                "expires_at": FieldChange(before: nil, after: .string(expires))], context: context, in: sql)
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
        try await database.read { sql in try await APIKeyRepository.list(accountID: accountID, in: sql) }
    }

    /// Disables the account and revokes every live key of it, in one transaction; false if
    /// there is no such account.
    func disable(accountID: String, by context: ChangeContext) async throws -> Bool {
        let disabled = try await database.transaction { sql in
            guard let account = try await ServiceAccountRepository.find(accountID, in: sql) else { return false }
            let stamp = Timestamp.string(from: context.time)
            if account.isActive {
                try await AuditLog.record(action: "service_account.disabled", targetKind: "service_account", targetID: accountID,
                                          changes: ["is_active": FieldChange(before: .bool(true), after: .bool(false))], context: context, in: sql)
            }
            try await ServiceAccountRepository.disable(accountID, at: stamp, in: sql)
            try await APIKeyRepository.revokeAll(accountID: accountID, at: stamp, in: sql)
            try await CredentialNotice.announce(.subject(accountID), in: sql)
            return true
        }
        credentials?.invalidate(subject: accountID)
        return disabled
    }

    /// Revokes a key of the account; false if the account has no such live key.
    func revokeKey(accountID: String, keyID: String, by context: ChangeContext) async throws -> Bool {
        let revoked = try await database.transaction { sql in
            guard try await APIKeyRepository.isLive(keyID, accountID: accountID, in: sql) else { return false }
            try await APIKeyRepository.revoke(keyID, at: Timestamp.string(from: context.time), in: sql)
            try await AuditLog.record(action: "api_key.revoked", targetKind: "service_account", targetID: accountID,
                                      changes: ["key_id": FieldChange(before: .string(keyID), after: nil)], context: context, in: sql)
            try await CredentialNotice.announce(.subject(accountID), in: sql)
            return true
        }
        credentials?.invalidate(subject: accountID)
        return revoked
    }

    /// Issues a new key in place of a live one; the old key keeps working for `grace` (at most
    /// 24 hours), then expires. Returns the new key's id; nil if the account has no such live key.
    func rotateKey(accountID: String, keyID: String, newKeyHash: String, grace: TimeInterval, by context: ChangeContext) async throws -> (id: String, oldExpiresAt: String)? {
        let id = PublicID.make(.apiKey)
        let result = try await database.transaction { [maxKeyAge] sql -> (String, String)? in
            guard let old = try await APIKeyRepository.liveKey(keyID, accountID: accountID, in: sql) else { return nil }
            let current = APIKeyRepository.effectiveExpiry(expiresAt: old.expiresAt, createdAt: old.createdAt, maxAge: maxKeyAge)
            // An expired key has nothing left to hand over.
            guard current > Timestamp.string(from: context.time) else { return nil }
            let until = min(current, Timestamp.string(from: context.time.addingTimeInterval(grace)))
            try await APIKeyRepository.insert(id: id, accountID: accountID, keyHash: newKeyHash, createdAt: Timestamp.string(from: context.time),
                                              expiresAt: Timestamp.string(from: context.time.addingTimeInterval(maxKeyAge)), createdBy: context.actorID, in: sql)
            try await APIKeyRepository.shorten(keyID, until: until, replacedBy: id, in: sql)
            try await AuditLog.record(action: "api_key.rotated", targetKind: "service_account", targetID: accountID, changes: [
                "key_id": FieldChange(before: .string(keyID), after: .string(id)),
                "old_key_expires_at": FieldChange(before: .string(current), after: .string(until)),
            ], context: context, in: sql)
            try await CredentialNotice.announce(.subject(accountID), in: sql)
            return (id, until)
        }
        credentials?.invalidate(subject: accountID)
        return result
    }

    /// The principal for an API key's hash: nil for an unknown or revoked key or a disabled
    /// account. Answered from `credentials` for up to `AUTH_CACHE_SECONDS` once found.
    func principal(keyHash: String, now: Date) async throws -> Principal? {
        let load: @Sendable () async throws -> CredentialCache.Found? = { [database, maxKeyAge] in
            guard let (principal, lastUsedAt, createdAt, expiresAt) = try await database.read({ sql in try await APIKeyRepository.principal(keyHash: keyHash, in: sql) })
            else { return nil }
            let expiry = APIKeyRepository.effectiveExpiry(expiresAt: expiresAt, createdAt: createdAt, maxAge: maxKeyAge)
            return CredentialCache.Found(value: .key(principal, lastUsedAt: lastUsedAt, expiresAt: expiry), subject: principal.id)
        }
        let key = CredentialCache.apiKey(keyHash)
        let found = if let credentials { try await credentials.value(for: key, load: load) } else { try await load() }
        guard case .key(let principal, let lastUsedAt, let expiresAt)? = found?.value else { return nil }
        // An expired key is refused like a revoked one.
        guard expiresAt > Timestamp.string(from: now) else { return nil }
        // last_used_at at most once a minute per key, written after the response.
        if let lastSeen, lastUsedAt.map({ $0 < Timestamp.string(from: now.addingTimeInterval(-LastSeenRecorder.interval)) }) ?? true {
            let stamp = Timestamp.string(from: now)
            lastSeen.keyUsed(keyHash: keyHash, at: now)
            credentials?.touch(key, at: stamp)
        }
        return principal
    }
}
