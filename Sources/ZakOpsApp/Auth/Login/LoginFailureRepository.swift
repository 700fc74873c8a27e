import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// SQL for `login_failures` (per hashed e-mail). Stateless, on the caller's transaction; every
/// value is bound. The delays are `LoginBackoff`'s.
enum LoginFailureRepository {
    /// Until when the subject is delayed, locking its row until commit (PostgreSQL; SQLite's
    /// single writer already serializes this). Nil when no row or no delay.
    static func lockedUntil(subject: String, in sql: any SQLDatabase) async throws -> String? {
        try await sql.select().columns("failures", "locked_until").from("login_failures")
            .where("subject_hash", .equal, SQLBind(subject)).for(.update).first()?
            .decode(column: "locked_until", as: String?.self)
    }

    /// Counts one more failure and returns the total. Concurrent first attempts may both find
    /// no row: the upsert counts both.
    static func countFailure(subject: String, at stamp: String, in sql: any SQLDatabase) async throws -> Int {
        try await sql.insert(into: "login_failures")
            .columns("subject_hash", "failures", "last_failure_at", "locked_until")
            .values(SQLBind(subject), SQLBind(1), SQLBind(stamp), SQLBind(String?.none))
            .onConflict(with: ["subject_hash"]) { update in
                update.set("failures", to: SQLBinaryExpression(SQLColumn("failures", table: "login_failures"), .add, SQLLiteral.numeric("1")))
                    .set("last_failure_at", to: SQLBind(stamp))
            }
            .returning("failures")
            .first(decodingColumn: "failures", as: Int.self) ?? 1
    }

    static func delay(subject: String, until stamp: String, in sql: any SQLDatabase) async throws {
        try await sql.update("login_failures").set("locked_until", to: SQLBind(stamp)).where("subject_hash", .equal, SQLBind(subject)).run()
    }

    static func clear(subject: String, in sql: any SQLDatabase) async throws {
        try await sql.delete(from: "login_failures").where("subject_hash", .equal, SQLBind(subject)).run()
    }
}
