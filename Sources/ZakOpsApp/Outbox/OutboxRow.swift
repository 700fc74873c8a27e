import Foundation
import SQLKit
import ZakOpsCore

/// One outbox row: something that must leave the process, at least once.
struct OutboxRow: Sendable, Equatable {
    enum Status: String, Sendable, CaseIterable {
        case pending, processing, delivered, dead
    }

    /// Stable across attempts: consumers de-duplicate by it (the webhook's `webhook-id`).
    let id: String
    /// `webhook:<webhook id>` (later `mail`).
    let consumer: String
    let eventType: String
    let payload: String
    var status: Status
    var attempts: Int
    var nextAttemptAt: String
    var lastError: String?
    let createdAt: String
    var deliveredAt: String?

    static let columns = ["id", "consumer", "event_type", "payload", "status", "attempts", "next_attempt_at", "last_error", "created_at", "delivered_at"]

    init(id: String, consumer: String, eventType: String, payload: String, status: Status, attempts: Int,
         nextAttemptAt: String, lastError: String?, createdAt: String, deliveredAt: String?) {
        self.id = id; self.consumer = consumer; self.eventType = eventType; self.payload = payload; self.status = status
        self.attempts = attempts; self.nextAttemptAt = nextAttemptAt; self.lastError = lastError; self.createdAt = createdAt
        self.deliveredAt = deliveredAt
    }

    init(row: any SQLRow) throws {
        guard let status = Status(rawValue: try row.decode(column: "status", as: String.self)) else {
            throw AppError(.internalError, logDetail: "outbox row with an unknown status")
        }
        self.init(
            id: try row.decode(column: "id", as: String.self), consumer: try row.decode(column: "consumer", as: String.self),
            eventType: try row.decode(column: "event_type", as: String.self), payload: try row.decode(column: "payload", as: String.self),
            status: status, attempts: try row.decode(column: "attempts", as: Int.self),
            nextAttemptAt: try row.decode(column: "next_attempt_at", as: String.self),
            lastError: try row.decode(column: "last_error", as: String?.self), createdAt: try row.decode(column: "created_at", as: String.self),
            deliveredAt: try row.decode(column: "delivered_at", as: String?.self)
        )
    }
}

/// `FOR UPDATE SKIP LOCKED` on PostgreSQL, so that processors on any number of instances claim
/// disjoint batches; nothing on SQLite, where the single writer already serializes claims.
struct ForUpdateSkipLocked: SQLExpression {
    func serialize(to serializer: inout SQLSerializer) {
        guard serializer.dialect.name == "postgresql" else { return }
        serializer.write("FOR UPDATE SKIP LOCKED")
    }
}
