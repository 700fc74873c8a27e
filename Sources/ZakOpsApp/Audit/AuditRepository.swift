import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Reads of `audit_log` (entries are written by `AuditLog.record`, inside each change's own
/// transaction). Every value is bound.
enum AuditRepository {
    /// What a reader narrows the trail to; nil fields do not filter. Times are canonical UTC text.
    struct Filter: Sendable {
        var actorID: String?
        var action: String?
        var targetKind: String?
        var targetID: String?
        var since: String?
        var until: String?
    }

    /// Entries newest first in commit order, before the cursor. Entries committing while a
    /// reader pages land before its first page, never between pages it has not read yet.
    static func list(_ filter: Filter, after cursor: Int64?, limit: Int, in sql: any SQLDatabase) async throws -> KeysetPage<AuditEntry, Int64> {
        var select = sql.select()
            .columns("id", "seq", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes", "request_id", "client_ip")
            .from("audit_log")
        if let actor = filter.actorID { select = select.where("actor_id", .equal, SQLBind(actor)) }
        if let action = filter.action { select = select.where("action", .equal, SQLBind(action)) }
        if let targetKind = filter.targetKind { select = select.where("target_kind", .equal, SQLBind(targetKind)) }
        if let targetID = filter.targetID { select = select.where("target_id", .equal, SQLBind(targetID)) }
        if let since = filter.since { select = select.where("occurred_at", .greaterThanOrEqual, SQLBind(since)) }
        if let until = filter.until { select = select.where("occurred_at", .lessThan, SQLBind(until)) }
        if let cursor { select = select.where("seq", .lessThan, SQLBind(cursor)) }
        let rows = try await select.orderBy("seq", .descending).limit(KeysetPage<AuditEntry, Int64>.fetchLimit(limit)).all()
        return try KeysetPage(rows: rows, limit: limit, key: { try $0.decode(column: "seq", as: Int64.self) }) { row in
            AuditEntry(
                id: try row.decode(column: "id", as: String.self),
                occurredAt: try row.decode(column: "occurred_at", as: String.self),
                actorID: try row.decode(column: "actor_id", as: String.self),
                actorKind: try row.decode(column: "actor_kind", as: String.self),
                action: try row.decode(column: "action", as: String.self),
                targetKind: try row.decode(column: "target_kind", as: String.self),
                targetID: try row.decode(column: "target_id", as: String.self),
                changes: JSONText.value(try row.decode(column: "changes", as: String.self)),
                requestID: try row.decode(column: "request_id", as: String?.self),
                clientIP: try row.decode(column: "client_ip", as: String?.self)
            )
        }
    }
}
