import Foundation
import HTTPTypes
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `/api/admin/webhooks` (`admin:system`): subscriptions of outside systems to events. The
/// signing secret is answered once, at creation. Every change is audited.
struct WebhooksController: Sendable {
    let service: WebhookService
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
            ListResponse(webhooks: try await service.all().map { WebhookResponse($0) })
        }
        routes.get("/api/admin/webhooks/{id}", .permission(.adminSystem)) { _, context in
            WebhookResponse(try await service.find(try Self.id(context)))
        }
        routes.on("/api/admin/webhooks/{id}", method: .patch, .permission(.adminSystem)) { request, context in try await update(request, context) }
        routes.delete("/api/admin/webhooks/{id}", .permission(.adminSystem)) { _, context -> HTTPResponse.Status in
            try await service.delete(try Self.id(context), by: try change(context))
            return .noContent
        }
        routes.post("/api/admin/webhooks/{id}/rotate-secret", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: RotationRequest.self, context: context)
            let (webhook, secret) = try await service.rotateSecret(try Self.id(context), grace: try RotationRequest.grace(input.graceHours), by: try change(context))
            return WebhookResponse(webhook, secret: secret)
        }
        routes.post("/api/admin/webhooks/{id}/test", .permission(.adminSystem)) { _, context in
            let outboxID = try await service.test(try Self.id(context), by: try change(context))
            return EditedResponse(status: .accepted, response: TestResponse(outboxID: outboxID))
        }
    }

    private func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let input = try await request.decodeStrictJSON(as: CreateRequest.self, context: context)
        let url = try policy.validate(input.url).absoluteString
        let types = try WebhookService.eventTypes(input.eventTypes)
        let webhook = try await service.create(url: url, types: types, by: try change(context)) { webhook in try Self.created(webhook, secret: nil) }
        return try Self.created(webhook, secret: webhook.secret).response
    }

    private func update(_ request: Request, _ context: AppRequestContext) async throws -> WebhookResponse {
        let id = try Self.id(context)
        let input = try await request.decodeStrictJSON(as: UpdateRequest.self, context: context)
        let url = try input.url.map { try policy.validate($0).absoluteString }
        let types = try input.eventTypes.map(WebhookService.eventTypes)
        return WebhookResponse(try await service.update(id, url: url, types: types, isActive: input.isActive, by: try change(context)))
    }

    private func change(_ context: AppRequestContext) throws -> ChangeContext {
        ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
    }

    /// The answer to a creation: live with the signing secret, replayed without it.
    static func created(_ webhook: Webhook, secret: String?) throws -> Reply {
        try .created(WebhookResponse(webhook, secret: secret), location: "/api/admin/webhooks/\(webhook.id)")
    }

    static func id(_ context: AppRequestContext) throws -> String {
        try ListQuery.pathID(context, prefix: "wh_")
    }
}
