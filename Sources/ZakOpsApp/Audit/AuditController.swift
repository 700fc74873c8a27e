import Foundation
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `GET /api/admin/audit` (`audit:read`): the audit trail, newest first, filtered by actor,
/// target, action and time, with cursor pagination. Nothing edits or deletes entries.
/// `GET /api/admin/audit/verify` and `GET /api/admin/audit/export` (`admin:system`): the chain's
/// verification, and a streamed export (refused while the lockdown is on: containment stops
/// bulk reads too).
struct AuditController: Sendable {
    let database: Database
    let keys: KeyRing
    let runtime: RuntimeState
    let clock: any AppClock

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
        routes.get("/api/admin/audit/verify", .permission(.adminSystem)) { _, _ in
            try await AuditVerifier(database: database, keys: keys).verify()
        }
        routes.get("/api/admin/audit/export", .permission(.adminSystem)) { request, context in
            if try await runtime.isLockedDown() { throw LockdownMiddleware.refusal }
            func time(_ name: String) throws -> Date? {
                guard let value = try QueryText.parameter(request, name, max: 30) else { return nil }
                guard let date = Timestamp.date(from: value) else {
                    throw AppError.validation(field: name, problem: "must be a UTC time such as 2026-01-31T12:00:00.000Z")
                }
                return date
            }
            let (since, until) = (try time("since"), try time("until"))
            let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
            let export = AuditExport(database: database, keys: keys)
            return Response(status: .ok, headers: [.contentType: "application/x-ndjson; charset=utf-8"], body: ResponseBody { writer in
                var writer = writer
                _ = try await export.write(since: since, until: until, by: change) { line in try await writer.write(ByteBuffer(string: line)) }
                try await writer.finish(nil)
            })
        }
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

extension AuditVerifier.Report: ResponseEncodable {}
