import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The DLQ and the outbox switch — the checklist's "DLQ Overflow" playbook — for the admin
/// endpoints and the `zakops outbox` / `zakops dlq` commands alike. Payloads are never shown
/// (they may hold deal data); every change is audited.
public struct OutboxAdmin: Sendable {
    let database: Database

    public init(database: Database) {
        self.database = database
    }

    public struct Status: Sendable, Codable, Equatable {
        public let paused: Bool
        public let counts: [String: Int]
        public let oldestPendingAt: String?
        enum CodingKeys: String, CodingKey {
            case paused, counts
            case oldestPendingAt = "oldest_pending_at"
        }
    }

    /// A dead row as operators see it: no payload, its size only.
    public struct DeadLetter: Sendable, Codable, Equatable {
        public let id: String
        public let consumer: String
        public let eventType: String
        public let attempts: Int
        public let lastError: String?
        public let createdAt: String
        public let payloadBytes: Int
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

    public struct DeadPage: Sendable, Codable {
        public let entries: [DeadLetter]
        public let nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case entries
            case nextCursor = "next_cursor"
        }
    }

    public struct StatsGroup: Sendable, Codable, Equatable {
        public let consumer: String
        public let eventType: String
        public let count: Int
        public let oldestCreatedAt: String
        enum CodingKeys: String, CodingKey {
            case consumer, count
            case eventType = "event_type"
            case oldestCreatedAt = "oldest_created_at"
        }
    }

    public struct Stats: Sendable, Codable, Equatable {
        public let total: Int
        public let groups: [StatsGroup]
    }

    public func status() async throws -> Status {
        let paused = try await RuntimeSwitches(database: database).isOn(.outboxPaused)
        return try await database.read { sql in
            Status(paused: paused, counts: try await OutboxRepository.counts(in: sql), oldestPendingAt: try await OutboxRepository.oldestPending(in: sql))
        }
    }

    func setPaused(_ paused: Bool, by change: ChangeContext) async throws -> Status {
        try await database.transaction { sql in
            try await RuntimeSwitches.set(.outboxPaused, on: paused, by: change, in: sql)
            try await AuditLog.record(action: paused ? "outbox.paused" : "outbox.resumed", targetKind: "system", targetID: "outbox",
                                      changes: ["paused": FieldChange(before: nil, after: .bool(paused))], context: change, in: sql)
        }
        return try await status()
    }

    public func setPaused(_ paused: Bool, at time: Date) async throws -> Status {
        try await setPaused(paused, by: ChangeContext(commandLineAt: time))
    }

    /// Dead rows in creation order, after the cursor (`created_at|id`, base64url).
    public func dead(consumer: String?, eventType: String?, limit: Int, cursor: String?) async throws -> DeadPage {
        let after = try cursor.map(Self.decodeCursor)
        let rows = try await database.read { sql in
            try await OutboxRepository.dead(consumer: consumer, eventType: eventType, after: after,
                                            limit: KeysetPage<DeadLetter, String>.fetchLimit(limit), in: sql)
        }
        // Dead rows have no sequence number: the key is (created_at, id).
        let page = KeysetPage(rows: rows, limit: limit, key: { Base64URL.encode(Data("\($0.createdAt)|\($0.id)".utf8)) }, item: DeadLetter.init)
        return DeadPage(entries: page.items, nextCursor: page.next)
    }

    public func stats() async throws -> Stats {
        let groups = try await database.read { sql in try await OutboxRepository.deadGroups(in: sql) }.map { group in
            StatsGroup(consumer: group.consumer, eventType: group.eventType, count: group.count, oldestCreatedAt: group.oldest)
        }
        return Stats(total: groups.reduce(0) { $0 + $1.count }, groups: groups)
    }

    /// Dead rows back to pending, due now, attempts from zero (one by id, or by filter, or all).
    func retry(id: String?, consumer: String?, eventType: String?, by change: ChangeContext) async throws -> Int {
        try await database.transaction { sql in
            let count = try await OutboxRepository.requeueDead(id: id, consumer: consumer, eventType: eventType, at: change.time, in: sql)
            var changes = ["count": FieldChange(before: nil, after: .number(Double(count)))]
            if let consumer { changes["consumer"] = FieldChange(before: nil, after: .string(consumer)) }
            if let eventType { changes["event_type"] = FieldChange(before: nil, after: .string(eventType)) }
            try await AuditLog.record(action: "dlq.retried", targetKind: "outbox", targetID: id ?? "dlq", changes: changes, context: change, in: sql)
            return count
        }
    }

    public func retry(id: String?, consumer: String?, eventType: String?, at time: Date) async throws -> Int {
        try await retry(id: id, consumer: consumer, eventType: eventType, by: ChangeContext(commandLineAt: time))
    }

    /// Deletes one dead row; false if there is no such dead row.
    func delete(_ id: String, by change: ChangeContext) async throws -> Bool {
        try await database.transaction { sql in
            guard try await OutboxRepository.deleteDead(id: id, in: sql) else { return false }
            try await AuditLog.record(action: "dlq.deleted", targetKind: "outbox", targetID: id, changes: [:], context: change, in: sql)
            return true
        }
    }

    /// Deletes dead rows created before `date`; returns how many.
    func purge(olderThan date: Date, by change: ChangeContext) async throws -> Int {
        try await database.transaction { sql in
            let count = try await OutboxRepository.purgeDead(createdBefore: date, in: sql)
            try await AuditLog.record(action: "dlq.purged", targetKind: "outbox", targetID: "dlq",
                                      changes: ["older_than": FieldChange(before: nil, after: .string(Timestamp.string(from: date))),
                                                "count": FieldChange(before: nil, after: .number(Double(count)))], context: change, in: sql)
            return count
        }
    }

    public func purge(olderThan date: Date, at time: Date) async throws -> Int {
        try await purge(olderThan: date, by: ChangeContext(commandLineAt: time))
    }

    static func decodeCursor(_ value: String) throws -> (time: String, id: String) {
        let invalid = AppError.validation(field: "cursor", problem: "is not a cursor this server issued")
        guard value.count <= 200, let data = Base64URL.decode(value), let text = String(data: data, encoding: .utf8) else { throw invalid }
        let parts = text.split(separator: "|", maxSplits: 1).map(String.init)
        guard parts.count == 2, Timestamp.date(from: parts[0]) != nil, parts[1].hasPrefix("msg_"), parts[1].count <= 60 else { throw invalid }
        return (parts[0], parts[1])
    }

    /// Names of consumers and event types in filters: letters, digits and `. _ : - *`.
    public static func filterText(_ value: String, field: String) throws -> String {
        try QueryText.check(value, field: field, max: 120, shape: .filterName)
    }
}
