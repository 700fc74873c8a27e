import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsHTTP

/// Writes audit entries inside the caller's transaction, so an entry exists exactly when its
/// change was committed.
enum AuditLog {
    static func record(
        action: String, targetKind: String, targetID: String, changes: [String: FieldChange],
        context: ChangeContext, in sql: any SQLDatabase
    ) async throws {
        let changesText = try JSONText.encode(changes)
        // The entry's place in commit order (the counter row the event log also advances).
        let sequence = try await EventSequence.next(.audit, in: sql)
        try await sql.insert(into: "audit_log")
            .columns("id", "seq", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes", "request_id", "client_ip")
            .values(SQLBind(PublicID.make(.auditEntry)), SQLBind(sequence), SQLBind(Timestamp.string(from: context.time)), SQLBind(context.actorID),
                    SQLBind(context.actorKind), SQLBind(action), SQLBind(targetKind), SQLBind(targetID), SQLBind(changesText),
                    SQLBind(context.requestID), SQLBind(context.clientIP))
            .run()
    }
}
