import Foundation
import ZakOpsCore
import ZakOpsStore

/// The rules of webhook subscriptions: each change in one transaction with its audit entry;
/// deleting a webhook drops its deliveries not yet made (dead ones stay in the DLQ).
struct WebhookService: Sendable {
    let database: Database
    /// Seals the signing secrets.
    let keys: DataKeyRing

    func all() async throws -> [Webhook] {
        try await database.read { sql in try await WebhookRepository.all(in: sql) }
    }

    func find(_ id: String) async throws -> Webhook {
        guard let webhook = try await database.read({ sql in try await WebhookRepository.find(id, in: sql) }) else { throw AppError(.notFound) }
        return webhook
    }

    /// Stores a new webhook (`url` and `types` already checked). `replay` is the answer an
    /// idempotent replay gets, recorded in the same transaction: it names the webhook but never
    /// its secret.
    func create(url: String, types: [String], by change: ChangeContext, replay: @escaping @Sendable (Webhook) throws -> Reply) async throws -> Webhook {
        let stamp = Timestamp.string(from: change.time)
        let webhook = Webhook(id: PublicID.make(.webhook), url: url, eventTypes: types, secret: WebhookSignature.newSecret(), isActive: true,
                              createdAt: stamp, updatedAt: stamp)
        var stored = webhook
        stored.secret = try keys.seal(webhook.secret, context: Webhook.sealContext(webhook.id))
        try await database.transaction { [stored] sql in
            try await WebhookRepository.insert(stored, createdBy: change.actorID, in: sql)
            try await AuditLog.record(action: "webhook.created", targetKind: "webhook", targetID: webhook.id,
                                      changes: ["url": FieldChange(before: nil, after: .string(Self.redacted(url))),
                                                "event_types": FieldChange(before: nil, after: .array(types.map(JSONValue.string)))],
                                      context: change, in: sql)
            try await change.record(try replay(webhook), in: sql)
        }
        return webhook
    }

    /// Replaces the signing secret; the old one keeps signing (a second signature in the same
    /// header) for `grace`, at most 24 hours, so that receivers can switch without losing a
    /// delivery. Returns the webhook and the new secret (shown once).
    func rotateSecret(_ id: String, grace: TimeInterval, by change: ChangeContext) async throws -> (Webhook, String) {
        let secret = WebhookSignature.newSecret()
        let sealed = try keys.seal(secret, context: Webhook.sealContext(id))
        let webhook = try await database.transaction { sql -> Webhook in
            guard let webhook = try await WebhookRepository.find(id, in: sql) else { throw AppError(.notFound) }
            let stamp = Timestamp.string(from: change.time)
            let until = Timestamp.string(from: change.time.addingTimeInterval(grace))
            try await WebhookRepository.rotateSecret(id, sealed: sealed, previous: webhook.secret, until: until, at: stamp, in: sql)
            try await AuditLog.record(action: "webhook.secret_rotated", targetKind: "webhook", targetID: id,
                                      changes: ["previous_valid_until": FieldChange(before: nil, after: .string(until))], context: change, in: sql)
            guard let rotated = try await WebhookRepository.find(id, in: sql) else { throw AppError(.notFound) }
            return rotated
        }
        return (webhook, secret)
    }

    /// Applies the given fields; an unchanged webhook is answered as it is, with no audit entry.
    func update(_ id: String, url: String?, types: [String]?, isActive: Bool?, by change: ChangeContext) async throws -> Webhook {
        try await database.transaction { sql in
            guard var webhook = try await WebhookRepository.find(id, in: sql) else { throw AppError(.notFound) }
            let before = webhook
            if let url { webhook.url = url }
            if let types { webhook.eventTypes = types }
            if let isActive { webhook.isActive = isActive }
            guard webhook != before else { return webhook }
            webhook.updatedAt = Timestamp.string(from: change.time)
            try await WebhookRepository.update(webhook, in: sql)
            var changes: [String: FieldChange] = [:]
            if webhook.url != before.url { changes["url"] = FieldChange(before: .string(Self.redacted(before.url)), after: .string(Self.redacted(webhook.url))) }
            if webhook.eventTypes != before.eventTypes {
                changes["event_types"] = FieldChange(before: .array(before.eventTypes.map(JSONValue.string)), after: .array(webhook.eventTypes.map(JSONValue.string)))
            }
            if webhook.isActive != before.isActive { changes["is_active"] = FieldChange(before: .bool(before.isActive), after: .bool(webhook.isActive)) }
            try await AuditLog.record(action: "webhook.updated", targetKind: "webhook", targetID: id, changes: changes, context: change, in: sql)
            return webhook
        }
    }

    func delete(_ id: String, by change: ChangeContext) async throws {
        try await database.transaction { sql in
            guard let webhook = try await WebhookRepository.find(id, in: sql) else { throw AppError(.notFound) }
            try await WebhookRepository.delete(id, in: sql)
            try await OutboxRepository.dropPending(consumer: webhook.consumer, in: sql)
            try await AuditLog.record(action: "webhook.deleted", targetKind: "webhook", targetID: id,
                                      changes: ["url": FieldChange(before: .string(Self.redacted(webhook.url)), after: nil)], context: change, in: sql)
        }
    }

    /// Queues a `webhook.test` delivery to an active webhook; returns its outbox id.
    func test(_ id: String, by change: ChangeContext) async throws -> String {
        try await database.transaction { sql in
            guard let webhook = try await WebhookRepository.find(id, in: sql) else { throw AppError(.notFound) }
            guard webhook.isActive else { throw AppError(.conflict, field: "is_active", problem: "the webhook is disabled") }
            let body = try JSONText.encode(EventLog.WebhookBody(type: "webhook.test", timestamp: Timestamp.string(from: change.time), sequence: 0,
                                                                data: .object(["webhook_id": .string(id)])))
            let outboxID = try await OutboxRepository.enqueue(consumer: webhook.consumer, eventType: "webhook.test", payload: body, at: change.time, in: sql)
            try await AuditLog.record(action: "webhook.tested", targetKind: "webhook", targetID: id,
                                      changes: ["outbox_id": FieldChange(before: nil, after: .string(outboxID))], context: change, in: sql)
            return outboxID
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
}
