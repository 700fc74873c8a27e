import Foundation
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `GET /api/admin/audit` (`audit:read`): the audit trail, newest first, filtered by actor,
/// target, action and time, with cursor pagination. Nothing edits or deletes entries.
struct AuditController: Sendable {
    let database: Database

    struct Page: ResponseEncodable {
        let entries: [AuditEntry]
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

        let filter = AuditRepository.Filter(actorID: actor, action: action, targetKind: targetKind, targetID: targetID, since: since, until: until)
        let page = try await database.read { sql in try await AuditRepository.list(filter, after: cursor, limit: limit, in: sql) }
        return Page(entries: page.items, nextCursor: page.next.map { ListQuery.encodeCursor(sequence: $0) })
    }
}
