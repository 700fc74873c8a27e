import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The per-user stream limit across every instance (PostgreSQL): a stream takes a lease row
/// before it opens — counted and inserted under a transaction-scoped advisory lock on the
/// principal, so two instances cannot both admit the sixth — and gives it back when it closes.
/// This instance renews its leases every `renewEvery`; a dead instance's leases stop counting
/// after `ttl`. The in-memory count of `EventHub` still applies per instance (and alone on SQLite).
final class StreamLeases: Service, Sendable {
    let database: Database
    let clock: any AppClock
    let logger: Logger
    let limit: Int
    let instanceID = UUID().uuidString.lowercased()
    let ttl: TimeInterval
    let renewEvery: Duration

    init(database: Database, clock: any AppClock, logger: Logger, limit: Int, ttl: TimeInterval = 15, renewEvery: Duration = .seconds(5)) {
        self.database = database
        self.clock = clock
        self.logger = logger
        self.limit = limit
        self.ttl = ttl
        self.renewEvery = renewEvery
    }

    /// A lease for one more stream of `principalID`, or `EventHub.Refusal.tooManyForUser`.
    func acquire(principalID: String) async throws -> String {
        let now = clock.now()
        let id = UUID().uuidString.lowercased()
        let admitted = try await database.transaction { [instanceID, limit, ttl] sql -> Bool in
            _ = try await sql.select().column(SQLFunction("pg_advisory_xact_lock", args: SQLFunction("hashtextextended", args: SQLBind(principalID), SQLLiteral.numeric("0"))), as: "locked").first()
            let open = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("stream_leases")
                .where("principal_id", .equal, SQLBind(principalID)).where("expires_at", .greaterThan, SQLBind(Timestamp.string(from: now)))
                .first()?.decode(column: "n", as: Int.self) ?? 0
            guard open < limit else { return false }
            try await sql.insert(into: "stream_leases").columns("id", "principal_id", "instance_id", "opened_at", "expires_at")
                .values(SQLBind(id), SQLBind(principalID), SQLBind(instanceID), SQLBind(Timestamp.string(from: now)),
                        SQLBind(Timestamp.string(from: now.addingTimeInterval(ttl)))).run()
            return true
        }
        guard admitted else { throw EventHub.Refusal.tooManyForUser }
        return id
    }

    /// Gives a lease back (a closed stream). Never throws: a lease that cannot be removed
    /// expires.
    func release(_ id: String) async {
        do {
            try await database.autocommit { sql in try await sql.delete(from: "stream_leases").where("id", .equal, SQLBind(id)).run() }
        } catch {
            logger.debug("stream lease not released; it expires", metadata: ["error_type": .string(String(describing: type(of: error)))])
        }
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                let now = clock.now()
                try await database.autocommit { [instanceID, ttl] sql in
                    try await sql.update("stream_leases").set("expires_at", to: SQLBind(Timestamp.string(from: now.addingTimeInterval(ttl))))
                        .where("instance_id", .equal, SQLBind(instanceID)).run()
                    // Dead instances' leases, long expired.
                    try await sql.delete(from: "stream_leases").where("expires_at", .lessThan, SQLBind(Timestamp.string(from: now.addingTimeInterval(-60)))).run()
                }
            } catch {
                logger.warning("stream leases not renewed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            do {
                try await cancelWhenGracefulShutdown { [renewEvery] in try await Task.sleep(for: renewEvery) }
            } catch {
                break
            }
        }
        // A clean stop: this instance's streams are gone.
        try? await database.autocommit { [instanceID] sql in
            try await sql.delete(from: "stream_leases").where("instance_id", .equal, SQLBind(instanceID)).run()
        }
    }
}
