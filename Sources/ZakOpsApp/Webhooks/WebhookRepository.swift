import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The `webhooks` table; every method takes the caller's connection.
enum WebhookRepository {
    static let columns = ["id", "url", "event_types", "secret", "is_active", "created_at", "updated_at", "previous_secret", "previous_secret_until",
                          "secret_rotated_at"]

    /// Inserts the webhook; its `secret` must already be sealed.
    static func insert(_ webhook: Webhook, createdBy: String, in sql: any SQLDatabase) async throws {
        try await sql.insert(into: "webhooks").columns("id", "url", "event_types", "secret", "is_active", "created_at", "updated_at", "created_by")
            .values(SQLBind(webhook.id), SQLBind(webhook.url), SQLBind(try JSONText.encode(webhook.eventTypes)), SQLBind(webhook.secret),
                    SQLBind(webhook.isActive), SQLBind(webhook.createdAt), SQLBind(webhook.updatedAt), SQLBind(createdBy))
            .run()
    }

    /// Replaces the secret (sealed), keeping the old one as previous until `until`.
    static func rotateSecret(_ id: String, sealed: String, previous: String, until: String, at stamp: String, in sql: any SQLDatabase) async throws {
        try await sql.update("webhooks").set("secret", to: SQLBind(sealed)).set("previous_secret", to: SQLBind(previous))
            .set("previous_secret_until", to: SQLBind(until)).set("secret_rotated_at", to: SQLBind(stamp)).set("updated_at", to: SQLBind(stamp))
            .where("id", .equal, SQLBind(id)).run()
    }

    static func update(_ webhook: Webhook, in sql: any SQLDatabase) async throws {
        try await sql.update("webhooks").set("url", to: SQLBind(webhook.url))
            .set("event_types", to: SQLBind(try JSONText.encode(webhook.eventTypes))).set("is_active", to: SQLBind(webhook.isActive))
            .set("updated_at", to: SQLBind(webhook.updatedAt)).where("id", .equal, SQLBind(webhook.id)).run()
    }

    static func delete(_ id: String, in sql: any SQLDatabase) async throws {
        try await sql.delete(from: "webhooks").where("id", .equal, SQLBind(id)).run()
    }

    static func find(_ id: String, in sql: any SQLDatabase) async throws -> Webhook? {
        try await sql.select().columns(columns.map { SQLColumn($0) }).from("webhooks").where("id", .equal, SQLBind(id)).first().map(webhook)
    }

    static func all(activeOnly: Bool = false, in sql: any SQLDatabase) async throws -> [Webhook] {
        var query = sql.select().columns(columns.map { SQLColumn($0) }).from("webhooks")
        if activeOnly { query = query.where("is_active", .equal, SQLBind(true)) }
        return try await query.orderBy("created_at").orderBy("id").all().map(webhook)
    }

    private static func webhook(_ row: any SQLRow) throws -> Webhook {
        let types = try JSONDecoder().decode([String].self, from: Data(try row.decode(column: "event_types", as: String.self).utf8))
        return Webhook(
            id: try row.decode(column: "id", as: String.self), url: try row.decode(column: "url", as: String.self), eventTypes: types,
            secret: try row.decode(column: "secret", as: String.self), isActive: try row.decode(column: "is_active", as: Bool.self),
            createdAt: try row.decode(column: "created_at", as: String.self), updatedAt: try row.decode(column: "updated_at", as: String.self),
            previousSecret: try row.decode(column: "previous_secret", as: String?.self),
            previousSecretUntil: try row.decode(column: "previous_secret_until", as: String?.self),
            secretRotatedAt: try row.decode(column: "secret_rotated_at", as: String?.self)
        )
    }
}
