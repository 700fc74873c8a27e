import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for the `sessions` table. Stateless: every function runs on the caller's connection or
/// transaction, and every value is bound. Sessions are found by the SHA-256 of their token.
enum SessionRepository {
    static func insert(_ session: SessionRecord, in sql: any SQLDatabase) async throws {
        try await sql.insert(into: "sessions")
            .columns(SessionRecord.columns.map { SQLColumn($0) })
            .values(
                SQLBind(session.tokenHash), SQLBind(session.id), SQLBind(session.operatorID), SQLBind(session.createdAt),
                SQLBind(session.lastSeenAt), SQLBind(session.expiresAt), SQLBind(session.clientIP), SQLBind(session.userAgent)
            )
            .run()
    }

    /// The session with this token hash and its operator.
    /// One query (a join) and a cached statement: every cookie request makes it.
    static func withOperator(tokenHash: String, in sql: any SQLDatabase) async throws -> (SessionRecord, OperatorRecord)? {
        let row = try await StatementCache.statement("session.with_operator", binds: [tokenHash], on: sql) { sql in
            sql.select()
                .columns(SessionRecord.columns.map { SQLColumn($0, table: "sessions") })
                .columns(OperatorRecord.columns.map { SQLAlias(SQLColumn($0, table: "operators"), as: SQLIdentifier("op_" + $0)) })
                .from("sessions")
                .join("operators", on: SQLColumn("operator_id", table: "sessions"), .equal, SQLColumn("id", table: "operators"))
                .where(SQLColumn("token_hash", table: "sessions"), .equal, SQLBind(tokenHash))
                .limit(1).query
        }.first()
        guard let row else { return nil }
        return (try SessionRecord(row: row), try OperatorRecord(row: row, prefix: "op_"))
    }

    /// Moves the session's last-seen time to `now` unless another request already moved it
    /// past `staleBefore` (concurrent requests of one session then write once).
    static func touch(tokenHash: String, now: Date, staleBefore: Date, in sql: any SQLDatabase) async throws {
        try await sql.update("sessions")
            .set("last_seen_at", to: SQLBind(Timestamp.string(from: now)))
            .where("token_hash", .equal, SQLBind(tokenHash))
            .where("last_seen_at", .lessThan, SQLBind(Timestamp.string(from: staleBefore)))
            .run()
    }

    static func delete(tokenHash: String, in sql: any SQLDatabase) async throws {
        try await sql.delete(from: "sessions").where("token_hash", .equal, SQLBind(tokenHash)).run()
    }

    /// Deletes one of the operator's sessions by its public id; false if there is no such
    /// session of theirs.
    static func delete(id: String, operatorID: String, in sql: any SQLDatabase) async throws -> Bool {
        let found = try await sql.select().column("id").from("sessions")
            .where("id", .equal, SQLBind(id)).where("operator_id", .equal, SQLBind(operatorID)).first() != nil
        if found {
            try await sql.delete(from: "sessions").where("id", .equal, SQLBind(id)).where("operator_id", .equal, SQLBind(operatorID)).run()
        }
        return found
    }

    /// Deletes every session of the operator except the one with `keeping` as token hash.
    static func deleteAll(operatorID: String, keeping: String? = nil, in sql: any SQLDatabase) async throws {
        var query = sql.delete(from: "sessions").where("operator_id", .equal, SQLBind(operatorID))
        if let keeping {
            query = query.where("token_hash", .notEqual, SQLBind(keeping))
        }
        try await query.run()
    }

    /// The operator's sessions, newest first.
    static func list(operatorID: String, in sql: any SQLDatabase) async throws -> [SessionRecord] {
        try await sql.select().columns(SessionRecord.columns.map { SQLColumn($0) }).from("sessions")
            .where("operator_id", .equal, SQLBind(operatorID))
            .orderBy("created_at", .descending)
            .all()
            .map { try SessionRecord(row: $0) }
    }
}
