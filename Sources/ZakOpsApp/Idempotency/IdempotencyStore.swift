import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The `idempotency_keys` table: claims a key for a principal, records the response, replays it.
struct IdempotencyStore: Sendable {
    let database: Database
    static let lifetime: TimeInterval = 24 * 60 * 60

    enum Claim: Sendable {
        /// The key is new: the request runs, then `complete` or `release`.
        case claimed
        /// The same request already succeeded: its response.
        case replay(status: Int, body: String, location: String?)
        /// The key was used with another request.
        case mismatch
        /// The first request with this key is still running.
        case inProgress
    }

    func claim(principalID: String, key: String, requestHash: String, now: Date) async throws -> Claim {
        let stamp = Timestamp.string(from: now)
        let expired = Timestamp.string(from: now.addingTimeInterval(-Self.lifetime))
        do {
            return try await database.transaction { sql in
                if let row = try await sql.select().columns("request_hash", "status", "response_body", "location", "created_at")
                    .from("idempotency_keys").where("principal_id", .equal, SQLBind(principalID))
                    .where("idempotency_key", .equal, SQLBind(key)).for(.update).first() {
                    if try row.decode(column: "created_at", as: String.self) >= expired {
                        guard try row.decode(column: "request_hash", as: String.self) == requestHash else { return .mismatch }
                        guard let status = try row.decode(column: "status", as: Int?.self) else { return .inProgress }
                        return .replay(status: status, body: try row.decode(column: "response_body", as: String?.self) ?? "",
                                       location: try row.decode(column: "location", as: String?.self))
                    }
                    try await sql.delete(from: "idempotency_keys").where("principal_id", .equal, SQLBind(principalID))
                        .where("idempotency_key", .equal, SQLBind(key)).run()
                }
                try await sql.insert(into: "idempotency_keys")
                    .columns("principal_id", "idempotency_key", "request_hash", "created_at")
                    .values(SQLBind(principalID), SQLBind(key), SQLBind(requestHash), SQLBind(stamp))
                    .run()
                return .claimed
            }
        } catch let error as StoreError {
            throw error
        } catch {
            // Two first requests at once on PostgreSQL: the second insert hits the primary key.
            return .inProgress
        }
    }

    func complete(principalID: String, key: String, status: Int, body: String, location: String?) async throws {
        try await database.autocommit { sql in
            try await sql.update("idempotency_keys").set("status", to: SQLBind(status)).set("response_body", to: SQLBind(body))
                .set("location", to: SQLBind(location))
                .where("principal_id", .equal, SQLBind(principalID)).where("idempotency_key", .equal, SQLBind(key)).run()
        }
    }

    /// Forgets a claim whose request failed, so that a retry with the same key runs again.
    func release(principalID: String, key: String) async throws {
        try await database.autocommit { sql in
            try await sql.delete(from: "idempotency_keys").where("principal_id", .equal, SQLBind(principalID))
                .where("idempotency_key", .equal, SQLBind(key)).where("status", .is, SQLLiteral.null).run()
        }
    }
}
