import SQLKit
import ZakOpsCore

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

    /// The same session, last seen at `stamp`.
    func seen(at stamp: String) -> SessionRecord {
        SessionRecord(tokenHash: tokenHash, id: id, operatorID: operatorID, createdAt: createdAt, lastSeenAt: stamp,
                      expiresAt: expiresAt, clientIP: clientIP, userAgent: userAgent)
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
