import Foundation
import Logging
import ServiceLifecycle
import ZakOpsCore
import ZakOpsStore

/// The daily retention run: every instance looks every `checkInterval`, and the one that finds
/// the last run a day old runs it — one at a time (`Database.exclusively`: an advisory lock on
/// PostgreSQL), audited as `system`.
struct RetentionJob: Service {
    let retention: RetentionService
    let database: Database
    let clock: any AppClock
    let logger: Logger
    var checkInterval: Duration = .seconds(600)

    static let lockKey = AdvisoryLock.retention.rawValue
    static let period: TimeInterval = 86_400

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await runIfDue()
            } catch {
                logger.warning("retention run failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: checkInterval) }
            } catch {
                return
            }
        }
    }

    /// Runs the purge if the last run is a day old (or none ran); returns the run, nil if not due
    /// or another instance holds it.
    @discardableResult
    func runIfDue() async throws -> RetentionService.Run? {
        let result = try await database.exclusively(Self.lockKey) { [retention, clock] in
            // Read again under the lock: another instance may have just run it.
            let last = try await retention.status().lastRun.flatMap { Timestamp.date(from: $0.at) }
            let now = clock.now()
            guard last.map({ now.timeIntervalSince($0) >= Self.period }) ?? true else { return RetentionService.Run?.none }
            return try await retention.run(dryRun: false, by: ChangeContext(systemAt: now))
        }
        if let run = result ?? nil {
            logger.notice("retention run", metadata: ["counts": .string(run.counts.filter { $0.value > 0 }.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ","))])
            return run
        }
        return nil
    }
}
