import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// Rate-limit counts in the database, so that every instance of a deployment counts against
/// the same limit: one atomic upsert per request (`INSERT … ON CONFLICT DO UPDATE … RETURNING`).
struct DatabaseRateLimitStore: RateLimitStore {
    let database: Database

    func record(key: String, windowStart: Int64, windowSeconds: Int) async throws -> Int {
        // Long keys (an attacker's made-up principal or address text) are stored hashed.
        let bucket = key.utf8.count > 120 ? "h:" + Digest.sha256Hex(key) : key
        return try await database.autocommit { sql in
            try await sql.insert(into: "rate_limit_counters")
                .columns("bucket", "window_start", "hits")
                .values(SQLBind(bucket), SQLBind(windowStart), SQLBind(1))
                .onConflict(with: ["bucket", "window_start"]) { update in
                    update.set("hits", to: SQLBinaryExpression(SQLColumn("hits", table: "rate_limit_counters"), .add, SQLLiteral.numeric("1")))
                }
                .returning("hits")
                .first(decodingColumn: "hits", as: Int.self) ?? 1
        }
    }
}
