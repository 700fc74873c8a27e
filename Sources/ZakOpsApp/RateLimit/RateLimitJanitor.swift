import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Deletes what the limits no longer need, once a minute (`interval`): counter rows of past windows,
/// login failures a day old whose delay has ended, and idempotency keys past their 24 hours. This keeps the shared tables as small as the
/// traffic of the last two minutes, however many addresses or e-mails a sprayer invents.
struct RateLimitJanitor: Service {
    let database: Database
    let clock: any AppClock
    let logger: Logger
    let interval: Duration

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await sweep()
            } catch {
                logger.warning("rate-limit cleanup failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
        }
    }

    func sweep() async throws {
        let now = clock.now()
        // Windows are at most a minute long: anything that started two minutes ago has ended.
        let oldestWindow = Int64(now.timeIntervalSince1970) - 120
        let forgotten = Timestamp.string(from: now.addingTimeInterval(-LoginBackoff.memory))
        let stamp = Timestamp.string(from: now)
        try await database.autocommit { sql in
            try await sql.delete(from: "rate_limit_counters").where("window_start", .lessThan, SQLBind(oldestWindow)).run()
        }
        let keysExpired = Timestamp.string(from: now.addingTimeInterval(-IdempotencyStore.lifetime))
        try await database.autocommit { sql in
            try await sql.delete(from: "idempotency_keys").where("created_at", .lessThan, SQLBind(keysExpired)).run()
        }
        try await ActionService(database: database, approvalTTL: 0).expireOverdue(now: now)
        try await OutboxRepository.purgeDelivered(before: now.addingTimeInterval(-OutboxRepository.deliveredRetention), in: database)
        try await database.autocommit { sql in
            try await sql.delete(from: "login_failures")
                .where("last_failure_at", .lessThan, SQLBind(forgotten))
                .where { $0.where("locked_until", .is, SQLLiteral.null).orWhere("locked_until", .lessThan, SQLBind(stamp)) }
                .run()
        }
    }
}
