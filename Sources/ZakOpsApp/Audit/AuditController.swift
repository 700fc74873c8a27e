import Foundation
import Hummingbird
import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `GET /api/admin/audit` (`audit:read`): the audit trail, newest first, filtered by actor,
/// target, action and time, with cursor pagination. Nothing edits or deletes entries.
struct AuditController: Sendable {
    let database: Database

    struct Entry: Encodable {
        let id: String
        let occurredAt: String
        let actorID: String
        let actorKind: String
        let action: String
        let targetKind: String
        let targetID: String
        let changes: JSONValue
        let requestID: String?
        let clientIP: String?
        enum CodingKeys: String, CodingKey {
            case id, action, changes
            case occurredAt = "occurred_at"
            case actorID = "actor_id"
            case actorKind = "actor_kind"
            case targetKind = "target_kind"
            case targetID = "target_id"
            case requestID = "request_id"
            case clientIP = "client_ip"
        }
    }

    struct Page: ResponseEncodable {
        let entries: [Entry]
        let nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case entries
            case nextCursor = "next_cursor"
        }
    }

    func register(on routes: SecuredRoutes) {
        routes.get("/api/admin/audit", .permission(.auditRead)) { request, _ in try await list(request) }
    }

    private func list(_ request: Request) async throws -> Page {
        func text(_ name: String, max: Int = 100) throws -> String? { try QueryText.parameter(request, name, max: max) }
        func time(_ name: String) throws -> String? {
            guard let value = try text(name, max: 30) else { return nil }
            guard let date = Timestamp.date(from: value) else {
                throw AppError.validation(field: name, problem: "must be a UTC time such as 2026-01-31T12:00:00.000Z")
            }
            return Timestamp.string(from: date)
        }
        let limit = try ListQuery.limit(request)
        let actor = try text("actor_id")
        let action = try text("action")
        let targetKind = try text("target_kind")
        let targetID = try text("target_id")
        let since = try time("since")
        let until = try time("until")
        let cursor = try ListQuery.cursor(request)

        let rows = try await database.read { sql in
            var select = sql.select()
                .columns("id", "seq", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes", "request_id", "client_ip")
                .from("audit_log")
            if let actor { select = select.where("actor_id", .equal, SQLBind(actor)) }
            if let action { select = select.where("action", .equal, SQLBind(action)) }
            if let targetKind { select = select.where("target_kind", .equal, SQLBind(targetKind)) }
            if let targetID { select = select.where("target_id", .equal, SQLBind(targetID)) }
            if let since { select = select.where("occurred_at", .greaterThanOrEqual, SQLBind(since)) }
            if let until { select = select.where("occurred_at", .lessThan, SQLBind(until)) }
            // Newest first in commit order: entries committing while a reader pages land before
            // its first page, never between pages it has not read yet.
            if let cursor { select = select.where("seq", .lessThan, SQLBind(cursor)) }
            return try await select.orderBy("seq", .descending).limit(KeysetPage<Entry, Int64>.fetchLimit(limit)).all()
        }
        let page = try KeysetPage(rows: rows, limit: limit, key: { try $0.decode(column: "seq", as: Int64.self) }) { row in
            Entry(
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
        return Page(entries: page.items, nextCursor: page.next.map { ListQuery.encodeCursor(sequence: $0) })
    }
}
