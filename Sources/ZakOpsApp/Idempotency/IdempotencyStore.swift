import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The `idempotency_keys` table: claims a key for a principal, records the response (in the
/// change's transaction), replays it.
struct IdempotencyStore: Sendable {
    let database: Database
    static let lifetime: TimeInterval = 24 * 60 * 60
    /// A claim still unanswered after this long belongs to a request that died (the response is
    /// recorded in the change's own transaction, so no change was committed): it is taken over.
    static let abandonedAfter: TimeInterval = 5 * 60

    enum Claim: Sendable {
        /// The key is new: the request runs and records its response, or the key is released.
        case claimed
        /// The same request already succeeded: its response.
        case replay(status: Int, body: String, location: String?)
        /// The key was used with another request.
        case mismatch
        /// The first request with this key is still running.
        case inProgress
    }

    func claim(_ claim: IdempotencyClaim, requestHash: String, now: Date) async throws -> Claim {
        let stamp = Timestamp.string(from: now)
        let expired = Timestamp.string(from: now.addingTimeInterval(-Self.lifetime))
        let abandoned = Timestamp.string(from: now.addingTimeInterval(-Self.abandonedAfter))
        return try await database.transaction { sql in
            if let row = try await sql.select().columns("request_hash", "status", "response_body", "location", "created_at")
                .from("idempotency_keys").where("principal_id", .equal, SQLBind(claim.principalID))
                .where("idempotency_key", .equal, SQLBind(claim.key)).for(.update).first() {
                let created = try row.decode(column: "created_at", as: String.self)
                let status = try row.decode(column: "status", as: Int?.self)
                if created >= expired, status != nil || created >= abandoned {
                    guard try row.decode(column: "request_hash", as: String.self) == requestHash else { return .mismatch }
                    guard let status else { return .inProgress }
                    return .replay(status: status, body: try row.decode(column: "response_body", as: String?.self) ?? "",
                                   location: try row.decode(column: "location", as: String?.self))
                }
                try await sql.delete(from: "idempotency_keys").where("principal_id", .equal, SQLBind(claim.principalID))
                    .where("idempotency_key", .equal, SQLBind(claim.key)).run()
            }
            // Two first requests at once: on PostgreSQL the second insert waits for the first's
            // transaction, then inserts nothing; that request is told the key is in use.
            let inserted = try await sql.insert(into: "idempotency_keys")
                .columns("principal_id", "idempotency_key", "request_hash", "created_at")
                .values(SQLBind(claim.principalID), SQLBind(claim.key), SQLBind(requestHash), SQLBind(stamp))
                .ignoringConflicts()
                .returning("principal_id")
                .all()
            return inserted.isEmpty ? .inProgress : .claimed
        }
    }

    /// Stores the response of a claimed key, in the caller's transaction.
    static func record(_ claim: IdempotencyClaim, status: Int, body: String, location: String?, in sql: any SQLDatabase) async throws {
        try await sql.update("idempotency_keys").set("status", to: SQLBind(status)).set("response_body", to: SQLBind(body))
            .set("location", to: SQLBind(location))
            .where("principal_id", .equal, SQLBind(claim.principalID)).where("idempotency_key", .equal, SQLBind(claim.key))
            .where("status", .is, SQLLiteral.null).run()
    }

    /// For a route that did not record its response in its transaction: stores the response
    /// it sent (nothing if the transaction already did).
    func recordIfOpen(_ claim: IdempotencyClaim, status: Int, body: String, location: String?) async throws {
        try await database.autocommit { sql in
            try await Self.record(claim, status: status, body: body, location: location, in: sql)
        }
    }

    /// Forgets a claim whose request failed, so that a retry with the same key runs again.
    func release(_ claim: IdempotencyClaim) async throws {
        try await database.autocommit { sql in
            try await sql.delete(from: "idempotency_keys").where("principal_id", .equal, SQLBind(claim.principalID))
                .where("idempotency_key", .equal, SQLBind(claim.key)).where("status", .is, SQLLiteral.null).run()
        }
    }
}
