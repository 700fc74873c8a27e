import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Once a minute (`interval`): the fast-moving kinds of the retention policy — counter rows of
/// past windows, forgotten login failures, old idempotency records, delivered outbox rows — by
/// the same rules as the daily run (`RetentionService`), and overdue actions expired. This keeps
/// the shared tables as small as the traffic of the last minutes, however many addresses or
/// e-mails a sprayer invents.
struct RateLimitJanitor: Service {
    let database: Database
    let retention: RetentionService
    let clock: any AppClock
    let logger: Logger
    let interval: Duration

    static let kinds: [RetentionService.Kind] = [.rateLimits, .loginFailures, .idempotency, .deliveredOutbox]

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
        _ = try await retention.run(dryRun: false, kinds: Self.kinds, by: ChangeContext(systemAt: now))
        try await ActionService(database: database, approvalTTL: 0).expireOverdue(now: now)
    }
}
