import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The rate-limit counts every instance shares, in the database, one row per key and bucket
/// (`window_start` is the bucket's start): per block of positions that `SharedRateLimitStore`
/// reserves, one atomic upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) into the current
/// bucket and one sum of the window's other buckets — newer ones included: an instance that
/// crossed into the next bucket first may have counted there, and of two racing instances at
/// least one then sees the other's block.
struct DatabaseRateLimitCounter: SharedRateLimitCounter {
    let database: Database

    func add(_ amount: Int, key: String, window: RateWindow) async throws -> Int {
        // Long keys (an attacker's made-up address text) are stored hashed.
        let bucket = key.utf8.count > 120 ? "h:" + Digest.sha256Hex(key) : key
        return try await database.autocommit { sql in
            let current = try await sql.insert(into: "rate_limit_counters")
                .columns("bucket", "window_start", "hits")
                .values(SQLBind(bucket), SQLBind(window.bucket), SQLBind(amount))
                .onConflict(with: ["bucket", "window_start"]) { update in
                    update.set("hits", to: SQLBinaryExpression(SQLColumn("hits", table: "rate_limit_counters"), .add, SQLBind(amount)))
                }
                .returning("hits")
                .first(decodingColumn: "hits", as: Int.self) ?? amount
            let others = try await sql.select()
                .column(SQLFunction("COALESCE", args: SQLFunction("SUM", args: SQLColumn("hits")), SQLLiteral.numeric("0")), as: "others")
                .from("rate_limit_counters")
                .where("bucket", .equal, SQLBind(bucket))
                .where("window_start", .greaterThanOrEqual, SQLBind(window.oldestBucket))
                .where("window_start", .notEqual, SQLBind(window.bucket))
                .first(decodingColumn: "others", as: Int.self) ?? 0
            return current + others
        }
    }
}
