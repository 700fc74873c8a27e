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
        // The entry's place in commit order, from the counter row the event log also locks
        // (one row, so one lock order); held until commit, so numbers follow commit order.
        guard let sequence = try await sql.update("event_sequence")
            .set("audit_value", to: SQLBinaryExpression(SQLColumn("audit_value"), .add, SQLLiteral.numeric("1")))
            .where("id", .equal, SQLBind(1))
            .returning("audit_value")
            .first(decodingColumn: "audit_value", as: Int64.self)
        else { throw AppError(.internalError, logDetail: "event_sequence row missing") }
        try await sql.insert(into: "audit_log")
            .columns("id", "seq", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes", "request_id", "client_ip")
            .values(SQLBind(PublicID.make("aud")), SQLBind(sequence), SQLBind(Timestamp.string(from: context.time)), SQLBind(context.actorID),
                    SQLBind(context.actorKind), SQLBind(action), SQLBind(targetKind), SQLBind(targetID), SQLBind(changesText),
                    SQLBind(context.requestID), SQLBind(context.clientIP))
            .run()
    }
}
