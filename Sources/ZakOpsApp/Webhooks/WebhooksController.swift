import Foundation
import HTTPTypes
import Hummingbird
import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `/api/admin/webhooks` (`admin:system`): subscriptions of outside systems to events. The
/// signing secret is answered once, at creation. Every change is audited.
struct WebhooksController: Sendable {
    let database: Database
    let clock: any AppClock
    let policy: WebhookAddressPolicy

    struct CreateRequest: StrictDecodable {
        let url: String
        let eventTypes: [String]
        enum CodingKeys: String, CodingKey {
            case url
            case eventTypes = "event_types"
        }
        static let knownFields = KnownFields(["url", "event_types"])
    }

    struct UpdateRequest: StrictDecodable {
        let url: String?
        let eventTypes: [String]?
        let isActive: Bool?
        enum CodingKeys: String, CodingKey {
            case url
            case eventTypes = "event_types"
            case isActive = "is_active"
        }
        static let knownFields = KnownFields(["url", "event_types", "is_active"])
    }

    /// A webhook as the API shows it; `secret` only in the creation's answer.
    struct WebhookResponse: ResponseEncodable {
        let id: String
        let url: String
        let eventTypes: [String]
        let isActive: Bool
        let createdAt: String
        let updatedAt: String
        let secret: String?
        enum CodingKeys: String, CodingKey {
            case id, url, secret
            case eventTypes = "event_types"
            case isActive = "is_active"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }
        init(_ webhook: Webhook, secret: String? = nil) {
            id = webhook.id; url = webhook.url; eventTypes = webhook.eventTypes; isActive = webhook.isActive
            createdAt = webhook.createdAt; updatedAt = webhook.updatedAt; self.secret = secret
        }
    }

    struct ListResponse: ResponseEncodable {
        let webhooks: [WebhookResponse]
    }

    struct TestResponse: ResponseEncodable {
        let outboxID: String
        enum CodingKeys: String, CodingKey { case outboxID = "outbox_id" }
    }

    func register(on routes: SecuredRoutes) {
        routes.post("/api/admin/webhooks", .permission(.adminSystem)) { request, context in try await create(request, context) }
        routes.get("/api/admin/webhooks", .permission(.adminSystem)) { _, _ in
            ListResponse(webhooks: try await database.read { sql in try await WebhookRepository.all(in: sql) }.map { WebhookResponse($0) })
        }
        routes.get("/api/admin/webhooks/{id}", .permission(.adminSystem)) { _, context in
            let id = try Self.id(context)
            guard let webhook = try await database.read({ sql in try await WebhookRepository.find(id, in: sql) }) else { throw AppError(.notFound) }
            return WebhookResponse(webhook)
        }
        routes.on("/api/admin/webhooks/{id}", method: .patch, .permission(.adminSystem)) { request, context in try await update(request, context) }
        routes.delete("/api/admin/webhooks/{id}", .permission(.adminSystem)) { _, context -> HTTPResponse.Status in
            let id = try Self.id(context)
            let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
            try await database.transaction { sql in
                guard let webhook = try await WebhookRepository.find(id, in: sql) else { throw AppError(.notFound) }
                try await WebhookRepository.delete(id, in: sql)
                // Deliveries not yet made go with it; dead ones stay in the DLQ for the record.
                try await sql.delete(from: "outbox").where("consumer", .equal, SQLBind(webhook.consumer))
                    .where("status", .equal, SQLBind(OutboxRow.Status.pending.rawValue)).run()
                try await AuditLog.record(action: "webhook.deleted", targetKind: "webhook", targetID: id,
                                          changes: ["url": FieldChange(before: .string(Self.redacted(webhook.url)), after: nil)], context: change, in: sql)
            }
            return .noContent
        }
        routes.post("/api/admin/webhooks/{id}/test", .permission(.adminSystem)) { _, context in
            let id = try Self.id(context)
            let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
            let outboxID = try await database.transaction { sql in
                guard let webhook = try await WebhookRepository.find(id, in: sql) else { throw AppError(.notFound) }
                guard webhook.isActive else { throw AppError(.conflict, field: "is_active", problem: "the webhook is disabled") }
                let body = try JSONText.encode(EventLog.WebhookBody(type: "webhook.test", timestamp: Timestamp.string(from: change.time), sequence: 0,
                                                                    data: .object(["webhook_id": .string(id)])))
                let outboxID = try await OutboxRepository.enqueue(consumer: webhook.consumer, eventType: "webhook.test", payload: body, at: change.time, in: sql)
                try await AuditLog.record(action: "webhook.tested", targetKind: "webhook", targetID: id,
                                          changes: ["outbox_id": FieldChange(before: nil, after: .string(outboxID))], context: change, in: sql)
                return outboxID
            }
            return EditedResponse(status: .accepted, response: TestResponse(outboxID: outboxID))
        }
    }

    private func create(_ request: Request, _ context: AppRequestContext) async throws -> EditedResponse<WebhookResponse> {
        let input = try await request.decodeStrictJSON(as: CreateRequest.self, context: context)
        let url = try policy.validate(input.url).absoluteString
        let types = try Self.eventTypes(input.eventTypes)
        let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
        let stamp = Timestamp.string(from: change.time)
        let webhook = Webhook(id: PublicID.make(.webhook), url: url, eventTypes: types, secret: WebhookSignature.newSecret(), isActive: true,
                              createdAt: stamp, updatedAt: stamp)
        try await database.transaction { sql in
            try await WebhookRepository.insert(webhook, createdBy: change.actorID, in: sql)
            try await AuditLog.record(action: "webhook.created", targetKind: "webhook", targetID: webhook.id,
                                      changes: ["url": FieldChange(before: nil, after: .string(Self.redacted(url))),
                                                "event_types": FieldChange(before: nil, after: .array(types.map(JSONValue.string)))],
                                      context: change, in: sql)
            // A replay names the webhook but never holds its secret.
            try await change.recordResponse(status: 201, body: WebhookResponse(webhook), location: "/api/admin/webhooks/\(webhook.id)", in: sql)
        }
        var response = EditedResponse(status: .created, response: WebhookResponse(webhook, secret: webhook.secret))
        response.headers[.location] = "/api/admin/webhooks/\(webhook.id)"
        return response
    }

    private func update(_ request: Request, _ context: AppRequestContext) async throws -> WebhookResponse {
        let id = try Self.id(context)
        let input = try await request.decodeStrictJSON(as: UpdateRequest.self, context: context)
        let url = try input.url.map { try policy.validate($0).absoluteString }
        let types = try input.eventTypes.map(Self.eventTypes)
        let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
        return try await database.transaction { sql in
            guard var webhook = try await WebhookRepository.find(id, in: sql) else { throw AppError(.notFound) }
            let before = webhook
            if let url { webhook.url = url }
            if let types { webhook.eventTypes = types }
            if let active = input.isActive { webhook.isActive = active }
            guard webhook != before else { return WebhookResponse(webhook) }
            webhook.updatedAt = Timestamp.string(from: change.time)
            try await WebhookRepository.update(webhook, in: sql)
            var changes: [String: FieldChange] = [:]
            if webhook.url != before.url { changes["url"] = FieldChange(before: .string(Self.redacted(before.url)), after: .string(Self.redacted(webhook.url))) }
            if webhook.eventTypes != before.eventTypes {
                changes["event_types"] = FieldChange(before: .array(before.eventTypes.map(JSONValue.string)), after: .array(webhook.eventTypes.map(JSONValue.string)))
            }
            if webhook.isActive != before.isActive { changes["is_active"] = FieldChange(before: .bool(before.isActive), after: .bool(webhook.isActive)) }
            try await AuditLog.record(action: "webhook.updated", targetKind: "webhook", targetID: id, changes: changes, context: change, in: sql)
            return WebhookResponse(webhook)
        }
    }

    /// `*` or event names such as `deal.created`: 1 to 50 of them, each at most 100 characters.
    static func eventTypes(_ types: [String]) throws -> [String] {
        let unique = Array(Set(types)).sorted()
        guard (1...50).contains(types.count), unique.allSatisfy({ type in
            type == "*" || (type.count <= 100 && type.split(separator: ".", omittingEmptySubsequences: false).count == 2
                            && type.allSatisfy { ($0.isASCII && $0.isLowercase) || $0 == "." || $0 == "_" } && !type.hasPrefix(".") && !type.hasSuffix("."))
        }) else {
            throw AppError.validation(field: "event_types", problem: "must list 1 to 50 event types such as deal.created, or *")
        }
        return unique
    }

    /// The URL for the audit trail: scheme, host, port and path; a query may hold a token.
    static func redacted(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "[invalid]" }
        if components.query != nil { components.query = "[redacted]" }
        return components.string ?? "[invalid]"
    }

    static func id(_ context: AppRequestContext) throws -> String {
        try ListQuery.pathID(context, prefix: "wh_")
    }
}
