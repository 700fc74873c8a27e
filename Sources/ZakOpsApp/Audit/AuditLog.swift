import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsHTTP

/// Who changed something, from where: the audit entry's actor and provenance.
struct ChangeContext: Sendable {
    let actorID: String
    /// `user`, `service` or `system`.
    let actorKind: String
    let requestID: String?
    let clientIP: String?
    let time: Date

    init(principal: Principal, request context: AppRequestContext, time: Date) {
        actorID = principal.id
        actorKind = principal.kind.rawValue
        requestID = context.requestID
        clientIP = context.clientIP
        self.time = time
    }

    /// A change the server makes by itself (expiry jobs).
    init(systemAt time: Date) {
        actorID = "system"
        actorKind = "system"
        requestID = nil
        clientIP = nil
        self.time = time
    }
}

/// One field's change: the values before and after as JSON, or `redacted` for personal data.
struct FieldChange: Sendable, Encodable {
    let before: JSONValue?
    let after: JSONValue?

    static let redacted = JSONValue.string("[redacted]")
}

/// Writes audit entries inside the caller's transaction, so an entry exists exactly when its
/// change was committed.
enum AuditLog {
    static func record(
        action: String, targetKind: String, targetID: String, changes: [String: FieldChange],
        context: ChangeContext, in sql: any SQLDatabase
    ) async throws {
        let changesText = try JSONText.encode(changes)
        try await sql.insert(into: "audit_log")
            .columns("id", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes", "request_id", "client_ip")
            .values(SQLBind(PublicID.make("aud")), SQLBind(Timestamp.string(from: context.time)), SQLBind(context.actorID),
                    SQLBind(context.actorKind), SQLBind(action), SQLBind(targetKind), SQLBind(targetID), SQLBind(changesText),
                    SQLBind(context.requestID), SQLBind(context.clientIP))
            .run()
    }
}
