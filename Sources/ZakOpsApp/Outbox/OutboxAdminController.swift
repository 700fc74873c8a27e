import Foundation
import HTTPTypes
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `/api/admin/outbox/*` and `/api/admin/dlq*` (`admin:system`): `OutboxAdmin` over HTTP.
struct OutboxAdminController: Sendable {
    let admin: OutboxAdmin
    let clock: any AppClock

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
        routes.get("/api/admin/outbox/status", .permission(.adminSystem)) { _, _ in try await admin.status() }
        routes.post("/api/admin/outbox/pause", .permission(.adminSystem)) { _, context in try await admin.setPaused(true, by: try change(context)) }
        routes.post("/api/admin/outbox/resume", .permission(.adminSystem)) { _, context in try await admin.setPaused(false, by: try change(context)) }
        routes.get("/api/admin/dlq", .permission(.adminSystem)) { request, _ in
            let query = request.uri.queryParameters
            return try await admin.dead(
                consumer: try query["consumer"].map { try OutboxAdmin.filterText(String($0), field: "consumer") },
                eventType: try query["event_type"].map { try OutboxAdmin.filterText(String($0), field: "event_type") },
                limit: try ListQuery.limit(request), cursor: query["cursor"].map(String.init)
            )
        }
        routes.get("/api/admin/dlq/stats", .permission(.adminSystem)) { _, _ in try await admin.stats() }
        routes.post("/api/admin/dlq/retry", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: RetryRequest.self, context: context)
            let consumer = try input.consumer.map { try OutboxAdmin.filterText($0, field: "consumer") }
            let type = try input.eventType.map { try OutboxAdmin.filterText($0, field: "event_type") }
            return CountResponse(count: try await admin.retry(id: nil, consumer: consumer, eventType: type, by: try change(context)))
        }
        routes.post("/api/admin/dlq/{id}/retry", .permission(.adminSystem)) { _, context -> HTTPResponse.Status in
            guard try await admin.retry(id: try Self.id(context), consumer: nil, eventType: nil, by: try change(context)) == 1 else {
                throw AppError(.notFound)
            }
            return .noContent
        }
        routes.delete("/api/admin/dlq/{id}", .permission(.adminSystem)) { _, context -> HTTPResponse.Status in
            guard try await admin.delete(try Self.id(context), by: try change(context)) else { throw AppError(.notFound) }
            return .noContent
        }
        routes.post("/api/admin/dlq/purge", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: PurgeRequest.self, context: context)
            guard let date = Timestamp.date(from: input.olderThan) else {
                throw AppError.validation(field: "older_than", problem: "must be a UTC time such as 2026-01-31T12:00:00.000Z")
            }
            return CountResponse(count: try await admin.purge(olderThan: date, by: try change(context)))
        }
    }

    private func change(_ context: AppRequestContext) throws -> ChangeContext {
        ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
    }

    static func id(_ context: AppRequestContext) throws -> String {
        try ListQuery.pathID(context, prefix: "msg_")
    }
}

extension OutboxAdmin.Status: ResponseEncodable {}
extension OutboxAdmin.DeadPage: ResponseEncodable {}
extension OutboxAdmin.Stats: ResponseEncodable {}
