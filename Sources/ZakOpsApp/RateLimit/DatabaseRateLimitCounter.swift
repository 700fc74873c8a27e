import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The rate-limit counts every instance shares, in the database: one atomic upsert
/// (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) per block of positions that
/// `SharedRateLimitStore` reserves.
struct DatabaseRateLimitCounter: SharedRateLimitCounter {
    let database: Database

    func add(_ amount: Int, key: String, windowStart: Int64) async throws -> Int {
        // Long keys (an attacker's made-up address text) are stored hashed.
        let bucket = key.utf8.count > 120 ? "h:" + Digest.sha256Hex(key) : key
        return try await database.autocommit { sql in
            try await sql.insert(into: "rate_limit_counters")
                .columns("bucket", "window_start", "hits")
                .values(SQLBind(bucket), SQLBind(windowStart), SQLBind(amount))
                .onConflict(with: ["bucket", "window_start"]) { update in
                    update.set("hits", to: SQLBinaryExpression(SQLColumn("hits", table: "rate_limit_counters"), .add, SQLBind(amount)))
                }
                .returning("hits")
                .first(decodingColumn: "hits", as: Int.self) ?? amount
        }
    }
}
