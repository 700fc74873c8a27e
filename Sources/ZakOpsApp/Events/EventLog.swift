import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Appends to the event log inside the caller's transaction. Sequence numbers come from the
/// one-row `event_sequence` counter, updated in the same transaction: they are gap-free and
/// increasing, and a change that rolls back takes no number (the price is that writers of
/// events serialize on that row, which a single-writer SQLite does anyway).
enum EventLog {
    struct Event: Sendable {
        let type: String
        let subjectKind: String
        let subjectID: String
        /// JSON text of what happened (the public view of the subject).
        let payload: String
    }

    /// An event as the API shows it.
    struct Entry: Sendable, Encodable {
        let sequence: Int64
        let type: String
        let occurredAt: String
        let data: JSONValue
        enum CodingKeys: String, CodingKey {
            case sequence, type, data
            case occurredAt = "occurred_at"
        }
    }

    /// The latest `limit` events of one subject, oldest first.
    static func entries(subjectKind: String, subjectID: String, limit: Int, in sql: any SQLDatabase) async throws -> [Entry] {
        try await sql.select().columns("sequence", "type", "occurred_at", "payload").from("event_log")
            .where("subject_kind", .equal, SQLBind(subjectKind)).where("subject_id", .equal, SQLBind(subjectID))
            .orderBy("sequence", .descending).limit(limit).all()
            .map { row in
                Entry(
                    sequence: try row.decode(column: "sequence", as: Int64.self),
                    type: try row.decode(column: "type", as: String.self),
                    occurredAt: try row.decode(column: "occurred_at", as: String.self),
                    data: JSONText.value(try row.decode(column: "payload", as: String.self))
                )
            }
            .reversed()
    }

    @discardableResult
    static func append(_ event: Event, at time: Date, in sql: any SQLDatabase) async throws -> Int64 {
        let sequence = try await EventSequence.next(.events, in: sql)
        try await sql.insert(into: "event_log")
            .columns("sequence", "occurred_at", "type", "subject_kind", "subject_id", "payload")
            .values(SQLBind(sequence), SQLBind(Timestamp.string(from: time)), SQLBind(event.type),
                    SQLBind(event.subjectKind), SQLBind(event.subjectID), SQLBind(event.payload))
            .run()
        try await enqueueWebhooks(event, sequence: sequence, at: time, in: sql)
        // Other instances' feeds read at once when this commits (PostgreSQL folds the repeats of
        // one transaction into one notification).
        try await NotificationListener.notify(EventFeed.notice, in: sql)
        return sequence
    }

    /// The body a webhook receives (Standard Webhooks' `type`, `timestamp`, `data`).
    struct WebhookBody: Encodable {
        let type: String
        let timestamp: String
        let sequence: Int64
        let data: JSONValue
    }

    /// One outbox row per subscribed webhook, in the event's transaction: what is committed is
    /// delivered, later, at least once.
    private static func enqueueWebhooks(_ event: Event, sequence: Int64, at time: Date, in sql: any SQLDatabase) async throws {
        let webhooks = try await WebhookRepository.all(activeOnly: true, in: sql).filter { $0.wants(event.type) }
        guard !webhooks.isEmpty else { return }
        let body = try JSONText.encode(WebhookBody(type: event.type, timestamp: Timestamp.string(from: time), sequence: sequence,
                                                   data: JSONText.value(event.payload)))
        for webhook in webhooks {
            try await OutboxRepository.enqueue(consumer: webhook.consumer, eventType: event.type, payload: body, at: time, in: sql)
        }
    }

    /// Whether a client that saw `after` can still be replayed what followed: the log holds
    /// every later event from within the window (`since`); false means it must reload.
    static func isReplayable(after: Int64, since cutoff: String, in sql: any SQLDatabase) async throws -> Bool {
        guard after < (try await latestSequence(in: sql)) else { return true }
        let first = try await sql.select().column(SQLFunction("min", args: SQLColumn("sequence")), as: "n").from("event_log")
            .where("occurred_at", .greaterThanOrEqual, SQLBind(cutoff)).first()?.decode(column: "n", as: Int64?.self)
        guard let first else { return false }
        return after + 1 >= first
    }

    /// The last sequence number written (0 for an empty log).
    static func latestSequence(in sql: any SQLDatabase) async throws -> Int64 {
        try await sql.select().column(SQLFunction("max", args: SQLColumn("sequence")), as: "latest").from("event_log").first()?
            .decode(column: "latest", as: Int64?.self) ?? 0
    }

    /// Events after a sequence number, oldest first, as the stream sends them.
    static func events(after sequence: Int64, limit: Int, in sql: any SQLDatabase) async throws -> [StreamEvent] {
        try await sql.select().columns("sequence", "type", "occurred_at", "subject_kind", "subject_id", "payload").from("event_log")
            .where("sequence", .greaterThan, SQLBind(sequence)).orderBy("sequence").limit(limit).all()
            .map { row in
                let kind = try row.decode(column: "subject_kind", as: String.self)
                let subject = try row.decode(column: "subject_id", as: String.self)
                let payload = try row.decode(column: "payload", as: String.self)
                var dealID: String?
                if kind == "deal" {
                    dealID = subject
                } else if case .object(let fields) = JSONText.value(payload), case .string(let id) = fields["deal_id"] {
                    dealID = id
                }
                return StreamEvent(sequence: try row.decode(column: "sequence", as: Int64.self), type: try row.decode(column: "type", as: String.self),
                                   occurredAt: try row.decode(column: "occurred_at", as: String.self), subjectKind: kind, subjectID: subject, data: payload, dealID: dealID)
            }
    }
}
