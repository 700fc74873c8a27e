import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The `outbox` table: rows are written in the transaction of the change that caused them,
/// claimed with a lease by processors, then delivered, retried later, or dead (the DLQ).
enum OutboxRepository {
    /// Adds a row inside the caller's transaction; returns its id.
    @discardableResult
    static func enqueue(consumer: String, eventType: String, payload: String, at time: Date, in sql: any SQLDatabase) async throws -> String {
        let stamp = Timestamp.string(from: time)
        let id = PublicID.make(.outboxMessage)
        try await sql.insert(into: "outbox")
            .columns("id", "consumer", "event_type", "payload", "status", "attempts", "next_attempt_at", "created_at")
            .values(SQLBind(id), SQLBind(consumer), SQLBind(eventType), SQLBind(payload),
                    SQLBind(OutboxRow.Status.pending.rawValue), SQLBind(0), SQLBind(stamp), SQLBind(stamp))
            .run()
        return id
    }

    /// Claims up to `limit` rows that are due — pending and past their time, or processing with
    /// an expired lease (their processor died) — and leases them until `now + lease`.
    static func claim(limit: Int, lease: TimeInterval, now: Date, onlyConsumer: String? = nil, in database: Database) async throws -> [OutboxRow] {
        let stamp = Timestamp.string(from: now)
        let leaseEnd = Timestamp.string(from: now.addingTimeInterval(lease))
        return try await database.transaction { sql in
            var select = sql.select().columns(OutboxRow.columns.map { SQLColumn($0) }).from("outbox")
                .where { group in
                    group.where { $0.where("status", .equal, SQLBind(OutboxRow.Status.pending.rawValue)).where("next_attempt_at", .lessThanOrEqual, SQLBind(stamp)) }
                        .orWhere { $0.where("status", .equal, SQLBind(OutboxRow.Status.processing.rawValue)).where("lease_expires_at", .lessThan, SQLBind(stamp)) }
                }
            if let onlyConsumer { select = select.where("consumer", .equal, SQLBind(onlyConsumer)) }
            let rows = try await select
                .orderBy("next_attempt_at").limit(limit)
                .lockingClause(ForUpdateSkipLocked())
                .all().map(OutboxRow.init(row:))
            guard !rows.isEmpty else { return [] }
            try await sql.update("outbox").set("status", to: SQLBind(OutboxRow.Status.processing.rawValue))
                .set("lease_expires_at", to: SQLBind(leaseEnd))
                .where("id", .in, rows.map(\.id)).run()
            return rows.map { row in
                var claimed = row
                claimed.status = .processing
                return claimed
            }
        }
    }

    /// Marks a batch's delivered rows in one statement.
    static func markDelivered(_ ids: [String], at now: Date, in database: Database) async throws {
        guard !ids.isEmpty else { return }
        try await database.autocommit { sql in
            try await sql.update("outbox").set("status", to: SQLBind(OutboxRow.Status.delivered.rawValue))
                .set("delivered_at", to: SQLBind(Timestamp.string(from: now))).set("lease_expires_at", to: SQLLiteral.null)
                .set("attempts", to: SQLBinaryExpression(SQLColumn("attempts"), .add, SQLLiteral.numeric("1")))
                .where("id", .in, ids).where("status", .equal, SQLBind(OutboxRow.Status.processing.rawValue)).run()
            // A delivered message keeps no content: mail holds links with reset tokens.
            try await sql.update("outbox").set("payload", to: SQLBind(#"{"redacted":true}"#))
                .where("id", .in, ids).where("consumer", .equal, SQLBind(OutboxMailer.consumer)).run()
        }
    }

    /// Records a failed attempt: back to pending after the backoff, or dead after the last one.
    /// Returns whether the row is now dead.
    @discardableResult
    static func markFailed(_ row: OutboxRow, error: String, backoff: OutboxBackoff, at now: Date, in database: Database) async throws -> Bool {
        let attempts = row.attempts + 1
        let dead = backoff.isDead(afterFailures: attempts)
        let next = dead ? now : now.addingTimeInterval(backoff.delay(afterFailures: attempts))
        try await database.autocommit { sql in
            try await sql.update("outbox")
                .set("status", to: SQLBind((dead ? OutboxRow.Status.dead : .pending).rawValue))
                .set("attempts", to: SQLBind(attempts)).set("next_attempt_at", to: SQLBind(Timestamp.string(from: next)))
                .set("last_error", to: SQLBind(Self.sanitized(error))).set("lease_expires_at", to: SQLLiteral.null)
                .where("id", .equal, SQLBind(row.id)).where("status", .equal, SQLBind(OutboxRow.Status.processing.rawValue)).run()
        }
        return dead
    }

    /// At most 500 characters of printable text: what an operator reads in the DLQ.
    static func sanitized(_ error: String) -> String {
        String(String(error.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) }).prefix(500))
    }

    static func find(_ id: String, in sql: any SQLDatabase) async throws -> OutboxRow? {
        try await sql.select().columns(OutboxRow.columns.map { SQLColumn($0) }).from("outbox").where("id", .equal, SQLBind(id)).first()
            .map(OutboxRow.init(row:))
    }

    /// Rows per status.
    static func counts(in sql: any SQLDatabase) async throws -> [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: OutboxRow.Status.allCases.map { ($0.rawValue, 0) })
        for row in try await sql.select().column("status").column(SQLFunction("count", args: SQLLiteral.all), as: "n")
            .from("outbox").groupBy("status").all() {
            counts[try row.decode(column: "status", as: String.self)] = try row.decode(column: "n", as: Int.self)
        }
        return counts
    }

    /// Drops a consumer's deliveries not yet made (its webhook was deleted); dead ones stay in
    /// the DLQ for the record.
    static func dropPending(consumer: String, in sql: any SQLDatabase) async throws {
        try await sql.delete(from: "outbox").where("consumer", .equal, SQLBind(consumer))
            .where("status", .equal, SQLBind(OutboxRow.Status.pending.rawValue)).run()
    }

    /// When the oldest pending row was created (nil: none pending).
    static func oldestPending(in sql: any SQLDatabase) async throws -> String? {
        try await sql.select().column(SQLFunction("min", args: SQLColumn("created_at")), as: "oldest").from("outbox")
            .where("status", .equal, SQLBind(OutboxRow.Status.pending.rawValue)).first()?.decode(column: "oldest", as: String?.self)
    }

    /// Dead rows in creation order after the (created_at, id) key, at most `limit`.
    static func dead(consumer: String?, eventType: String?, after: (time: String, id: String)?, limit: Int, in sql: any SQLDatabase) async throws -> [OutboxRow] {
        var select = sql.select().columns(OutboxRow.columns.map { SQLColumn($0) }).from("outbox")
            .where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue))
        if let consumer { select = select.where("consumer", .equal, SQLBind(consumer)) }
        if let eventType { select = select.where("event_type", .equal, SQLBind(eventType)) }
        if let after {
            select = select.where { group in
                group.where("created_at", .greaterThan, SQLBind(after.time))
                    .orWhere { $0.where("created_at", .equal, SQLBind(after.time)).where("id", .greaterThan, SQLBind(after.id)) }
            }
        }
        return try await select.orderBy("created_at").orderBy("id").limit(limit).all().map(OutboxRow.init(row:))
    }

    /// Dead rows counted by consumer and event type, with the oldest creation time of each.
    static func deadGroups(in sql: any SQLDatabase) async throws -> [(consumer: String, eventType: String, count: Int, oldest: String)] {
        try await sql.select().column("consumer").column("event_type")
            .column(SQLFunction("count", args: SQLLiteral.all), as: "n").column(SQLFunction("min", args: SQLColumn("created_at")), as: "oldest")
            .from("outbox").where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue))
            .groupBy("consumer").groupBy("event_type").orderBy("consumer").orderBy("event_type").all()
            .map { row in
                (try row.decode(column: "consumer", as: String.self), try row.decode(column: "event_type", as: String.self),
                 try row.decode(column: "n", as: Int.self), try row.decode(column: "oldest", as: String.self))
            }
    }

    /// Dead rows back to pending, due at `time`, attempts from zero (one by id, or by filter,
    /// or all); returns how many.
    static func requeueDead(id: String?, consumer: String?, eventType: String?, at time: Date, in sql: any SQLDatabase) async throws -> Int {
        var update = sql.update("outbox").set("status", to: SQLBind(OutboxRow.Status.pending.rawValue)).set("attempts", to: SQLBind(0))
            .set("next_attempt_at", to: SQLBind(Timestamp.string(from: time)))
            .where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue))
        if let id { update = update.where("id", .equal, SQLBind(id)) }
        if let consumer { update = update.where("consumer", .equal, SQLBind(consumer)) }
        if let eventType { update = update.where("event_type", .equal, SQLBind(eventType)) }
        return try await update.returning("id").all().count
    }

    /// Deletes one dead row; false if there is no such dead row.
    static func deleteDead(id: String, in sql: any SQLDatabase) async throws -> Bool {
        try await !sql.delete(from: "outbox").where("id", .equal, SQLBind(id))
            .where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue)).returning("id").all().isEmpty
    }

    /// Deletes dead rows created before `date`; returns how many.
    static func purgeDead(createdBefore date: Date, in sql: any SQLDatabase) async throws -> Int {
        try await sql.delete(from: "outbox").where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue))
            .where("created_at", .lessThan, SQLBind(Timestamp.string(from: date))).returning("id").all().count
    }
}
