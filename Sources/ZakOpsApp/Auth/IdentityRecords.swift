import SQLKit
import ZakOpsCore

/// An operator row.
struct OperatorRecord: Sendable {
    let id: String
    let email: String
    let name: String
    let role: Role
    let passwordHash: String
    let isActive: Bool
    let mustResetPassword: Bool
    let totpSecret: String?
    let totpEnabled: Bool

    static let columns = ["id", "email", "name", "role", "password_hash", "is_active", "must_reset_password", "totp_secret", "totp_enabled"]

    init(row: any SQLRow, prefix: String = "") throws {
        id = try row.decode(column: prefix + "id", as: String.self)
        email = try row.decode(column: prefix + "email", as: String.self)
        name = try row.decode(column: prefix + "name", as: String.self)
        role = Role(rawValue: try row.decode(column: prefix + "role", as: String.self)) ?? .viewer
        passwordHash = try row.decode(column: prefix + "password_hash", as: String.self)
        isActive = try row.decode(column: prefix + "is_active", as: Bool.self)
        mustResetPassword = try row.decode(column: prefix + "must_reset_password", as: Bool.self)
        totpSecret = try row.decode(column: prefix + "totp_secret", as: String?.self)
        totpEnabled = try row.decode(column: prefix + "totp_enabled", as: Bool.self)
    }

    /// The principal this operator acts as, through the given session.
    func principal(session: SessionRecord?) -> Principal {
        Principal(
            id: id, kind: .user, role: role, email: email, name: name, permissions: role.permissions,
            sessionID: session?.id, sessionTokenHash: session?.tokenHash, mustResetPassword: mustResetPassword
        )
    }
}

/// A session row. The cookie's token is never stored, only its SHA-256.
struct SessionRecord: Sendable {
    let tokenHash: String
    let id: String
    let operatorID: String
    let createdAt: String
    let lastSeenAt: String
    let expiresAt: String
    let clientIP: String?
    let userAgent: String?

    static let columns = ["token_hash", "id", "operator_id", "created_at", "last_seen_at", "expires_at", "client_ip", "user_agent"]

    init(tokenHash: String, id: String, operatorID: String, createdAt: String, lastSeenAt: String, expiresAt: String, clientIP: String?, userAgent: String?) {
        self.tokenHash = tokenHash
        self.id = id
        self.operatorID = operatorID
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.clientIP = clientIP
        self.userAgent = userAgent
    }

    init(row: any SQLRow) throws {
        tokenHash = try row.decode(column: "token_hash", as: String.self)
        id = try row.decode(column: "id", as: String.self)
        operatorID = try row.decode(column: "operator_id", as: String.self)
        createdAt = try row.decode(column: "created_at", as: String.self)
        lastSeenAt = try row.decode(column: "last_seen_at", as: String.self)
        expiresAt = try row.decode(column: "expires_at", as: String.self)
        clientIP = try row.decode(column: "client_ip", as: String?.self)
        userAgent = try row.decode(column: "user_agent", as: String?.self)
    }
}

/// Opaque public identifiers: a prefix and 80 random bits in base32 (not sequential, not UUIDs).
enum PublicID {
    static func make(_ prefix: String) -> String {
        prefix + "_" + RandomToken.base32(RandomToken.bytes(10))
    }
}
