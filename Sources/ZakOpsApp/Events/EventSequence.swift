import SQLKit
import ZakOpsCore

/// The one place that advances the commit-order counters: the one-row `event_sequence` table
/// holds the event log's (`value`) and the audit log's (`audit_value`). One row, so every
/// writer locks in the same order; the lock is held until commit, so the numbers follow commit
/// order and are gap-free.
enum EventSequence {
    enum Counter: String {
        case events = "value"
        case audit = "audit_value"
    }

    /// The next number of `counter`, taken inside the caller's transaction.
    static func next(_ counter: Counter, in sql: any SQLDatabase) async throws -> Int64 {
        guard let value = try await sql.update("event_sequence")
            .set(counter.rawValue, to: SQLBinaryExpression(SQLColumn(counter.rawValue), .add, SQLLiteral.numeric("1")))
            .where("id", .equal, SQLBind(1))
            .returning(counter.rawValue)
            .first(decodingColumn: counter.rawValue, as: Int64.self)
        else { throw AppError(.internalError, logDetail: "event_sequence row missing") }
        return value
    }
}
