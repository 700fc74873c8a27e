import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The DLQ and the outbox switch (`admin:system`): the checklist's "DLQ Overflow" playbook —
/// pause, look, retry or purge, resume. Payloads are never shown (they may hold deal data);
/// every operation is audited.
struct OutboxAdminController: Sendable {
    let database: Database
    let clock: any AppClock

    struct StatusResponse: ResponseEncodable {
        let paused: Bool
        let counts: [String: Int]
        let oldestPendingAt: String?
        enum CodingKeys: String, CodingKey {
            case paused, counts
            case oldestPendingAt = "oldest_pending_at"
        }
    }

    struct DeadEntry: Encodable {
        let id: String
        let consumer: String
        let eventType: String
        let attempts: Int
        let lastError: String?
        let createdAt: String
        let payloadBytes: Int
        enum CodingKeys: String, CodingKey {
            case id, consumer, attempts
            case eventType = "event_type"
            case lastError = "last_error"
            case createdAt = "created_at"
            case payloadBytes = "payload_bytes"
        }
        init(_ row: OutboxRow) {
            id = row.id; consumer = row.consumer; eventType = row.eventType; attempts = row.attempts; lastError = row.lastError
            createdAt = row.createdAt; payloadBytes = row.payload.utf8.count
        }
    }

    struct DeadPage: ResponseEncodable {
        let entries: [DeadEntry]
        let nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case entries
            case nextCursor = "next_cursor"
        }
    }

    struct StatsGroup: Encodable {
        let consumer: String
        let eventType: String
        let count: Int
        let oldestCreatedAt: String
        enum CodingKeys: String, CodingKey {
            case consumer, count
            case eventType = "event_type"
            case oldestCreatedAt = "oldest_created_at"
        }
    }

    struct StatsResponse: ResponseEncodable {
        let total: Int
        let groups: [StatsGroup]
    }

    struct CountResponse: ResponseEncodable {
        let count: Int
    }

    struct RetryRequest: StrictDecodable {
        let consumer: String?
        let eventType: String?
        enum CodingKeys: String, CodingKey {
            case consumer
            case eventType = "event_type"
        }
        static let knownFields = KnownFields(["consumer", "event_type"])
    }

    struct PurgeRequest: StrictDecodable {
        let olderThan: String
        enum CodingKeys: String, CodingKey { case olderThan = "older_than" }
        static let knownFields = KnownFields(["older_than"])
    }

    func register(on routes: SecuredRoutes) {
        routes.get("/api/admin/outbox/status", .permission(.adminSystem)) { _, _ in try await status() }
        routes.post("/api/admin/outbox/pause", .permission(.adminSystem)) { _, context in try await setPaused(true, context) }
        routes.post("/api/admin/outbox/resume", .permission(.adminSystem)) { _, context in try await setPaused(false, context) }
        routes.get("/api/admin/dlq", .permission(.adminSystem)) { request, _ in try await list(request) }
        routes.get("/api/admin/dlq/stats", .permission(.adminSystem)) { _, _ in try await stats() }
        routes.post("/api/admin/dlq/retry", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: RetryRequest.self, context: context)
            let consumer = try input.consumer.map { try Self.text($0, field: "consumer") }
            let type = try input.eventType.map { try Self.text($0, field: "event_type") }
            return CountResponse(count: try await retry(id: nil, consumer: consumer, eventType: type, context))
        }
        routes.post("/api/admin/dlq/{id}/retry", .permission(.adminSystem)) { _, context -> HTTPResponse.Status in
            guard try await retry(id: try Self.id(context), consumer: nil, eventType: nil, context) == 1 else { throw AppError(.notFound) }
            return .noContent
        }
        routes.delete("/api/admin/dlq/{id}", .permission(.adminSystem)) { _, context -> HTTPResponse.Status in
            let id = try Self.id(context)
            let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
            try await database.transaction { sql in
                let deleted = try await sql.delete(from: "outbox").where("id", .equal, SQLBind(id))
                    .where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue)).returning("id").all()
                guard !deleted.isEmpty else { throw AppError(.notFound) }
                try await AuditLog.record(action: "dlq.deleted", targetKind: "outbox", targetID: id, changes: [:], context: change, in: sql)
            }
            return .noContent
        }
        routes.post("/api/admin/dlq/purge", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: PurgeRequest.self, context: context)
            guard let date = Timestamp.date(from: input.olderThan) else {
                throw AppError.validation(field: "older_than", problem: "must be a UTC time such as 2026-01-31T12:00:00.000Z")
            }
            let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
            let purged = try await database.transaction { sql in
                let rows = try await sql.delete(from: "outbox").where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue))
                    .where("created_at", .lessThan, SQLBind(Timestamp.string(from: date))).returning("id").all()
                try await AuditLog.record(action: "dlq.purged", targetKind: "outbox", targetID: "dlq",
                                          changes: ["older_than": FieldChange(before: nil, after: .string(Timestamp.string(from: date))),
                                                    "count": FieldChange(before: nil, after: .number(Double(rows.count)))], context: change, in: sql)
                return rows.count
            }
            return CountResponse(count: purged)
        }
    }

    private func status() async throws -> StatusResponse {
        let paused = try await RuntimeSwitches(database: database).isOn(.outboxPaused)
        return try await database.read { sql in
            let oldest = try await sql.select().column(SQLFunction("min", args: SQLColumn("created_at")), as: "oldest").from("outbox")
                .where("status", .equal, SQLBind(OutboxRow.Status.pending.rawValue)).first()?.decode(column: "oldest", as: String?.self)
            return StatusResponse(paused: paused, counts: try await OutboxRepository.counts(in: sql), oldestPendingAt: oldest)
        }
    }

    private func setPaused(_ paused: Bool, _ context: AppRequestContext) async throws -> StatusResponse {
        let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
        try await database.transaction { sql in
            try await RuntimeSwitches.set(.outboxPaused, on: paused, by: change, in: sql)
            try await AuditLog.record(action: paused ? "outbox.paused" : "outbox.resumed", targetKind: "system", targetID: "outbox",
                                      changes: ["paused": FieldChange(before: nil, after: .bool(paused))], context: change, in: sql)
        }
        return try await status()
    }

    private func list(_ request: Request) async throws -> DeadPage {
        let query = request.uri.queryParameters
        let consumer = try query["consumer"].map { try Self.text(String($0), field: "consumer") }
        let type = try query["event_type"].map { try Self.text(String($0), field: "event_type") }
        let limit = try ListQuery.limit(request)
        let cursor = try Self.cursor(request)
        var rows = try await database.read { sql in
            var select = sql.select().columns(OutboxRow.columns.map { SQLColumn($0) }).from("outbox")
                .where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue))
            if let consumer { select = select.where("consumer", .equal, SQLBind(consumer)) }
            if let type { select = select.where("event_type", .equal, SQLBind(type)) }
            if let cursor {
                select = select.where { group in
                    group.where("created_at", .greaterThan, SQLBind(cursor.time))
                        .orWhere { $0.where("created_at", .equal, SQLBind(cursor.time)).where("id", .greaterThan, SQLBind(cursor.id)) }
                }
            }
            return try await select.orderBy("created_at").orderBy("id").limit(limit + 1).all().map(OutboxRow.init(row:))
        }
        var next: String?
        if rows.count > limit {
            rows.removeLast()
            next = rows.last.map { Base64URL.encode(Data("\($0.createdAt)|\($0.id)".utf8)) }
        }
        return DeadPage(entries: rows.map(DeadEntry.init), nextCursor: next)
    }

    private func stats() async throws -> StatsResponse {
        try await database.read { sql in
            let groups = try await sql.select().column("consumer").column("event_type")
                .column(SQLFunction("count", args: SQLLiteral.all), as: "n").column(SQLFunction("min", args: SQLColumn("created_at")), as: "oldest")
                .from("outbox").where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue))
                .groupBy("consumer").groupBy("event_type").orderBy("consumer").orderBy("event_type").all()
                .map { row in
                    StatsGroup(consumer: try row.decode(column: "consumer", as: String.self), eventType: try row.decode(column: "event_type", as: String.self),
                               count: try row.decode(column: "n", as: Int.self), oldestCreatedAt: try row.decode(column: "oldest", as: String.self))
                }
            return StatsResponse(total: groups.reduce(0) { $0 + $1.count }, groups: groups)
        }
    }

    /// Dead rows back to pending, due now, attempts from zero; each retry audited.
    private func retry(id: String?, consumer: String?, eventType: String?, _ context: AppRequestContext) async throws -> Int {
        let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
        return try await database.transaction { sql in
            var update = sql.update("outbox").set("status", to: SQLBind(OutboxRow.Status.pending.rawValue)).set("attempts", to: SQLBind(0))
                .set("next_attempt_at", to: SQLBind(Timestamp.string(from: change.time)))
                .where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue))
            if let id { update = update.where("id", .equal, SQLBind(id)) }
            if let consumer { update = update.where("consumer", .equal, SQLBind(consumer)) }
            if let eventType { update = update.where("event_type", .equal, SQLBind(eventType)) }
            let count = try await update.returning("id").all().count
            var changes = ["count": FieldChange(before: nil, after: .number(Double(count)))]
            if let consumer { changes["consumer"] = FieldChange(before: nil, after: .string(consumer)) }
            if let eventType { changes["event_type"] = FieldChange(before: nil, after: .string(eventType)) }
            if count > 0 {
                try await AuditLog.record(action: "dlq.retried", targetKind: "outbox", targetID: id ?? "dlq", changes: changes, context: change, in: sql)
            }
            return count
        }
    }

    static func text(_ value: String, field: String) throws -> String {
        guard (1...120).contains(value.count), value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._:-*".contains($0)) }) else {
            throw AppError.validation(field: field, problem: "must be 1 to 120 letters, digits, or . _ : - *")
        }
        return value
    }

    static func id(_ context: AppRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), id.hasPrefix("msg_"), id.count <= 60, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw AppError(.notFound)
        }
        return id
    }

    static func cursor(_ request: Request) throws -> (time: String, id: String)? {
        guard let value = request.uri.queryParameters["cursor"] else { return nil }
        let invalid = AppError.validation(field: "cursor", problem: "is not a cursor this server issued")
        guard value.count <= 200, let data = Base64URL.decode(String(value)), let text = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: "|", maxSplits: 1).map(String.init)
        guard parts.count == 2, Timestamp.date(from: parts[0]) != nil, parts[1].hasPrefix("msg_"), parts[1].count <= 60 else { throw invalid }
        return (parts[0], parts[1])
    }
}
