import Foundation
import Logging
import Metrics
import ServiceLifecycle
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The gauges that are states rather than events, read every `interval` (15 s, Prometheus's
/// usual scrape): open sessions, outbox rows pending and the age of the oldest, the DLQ's size,
/// this instance's event streams, the time of the last successful backup.
struct MetricsSampler: Service {
    let database: Database
    let hub: EventHub
    let clock: any AppClock
    let logger: Logger
    var interval: Duration = .seconds(15)

    func run() async throws {
        while !Task.isShuttingDownGracefully {
            do {
                try await sample()
            } catch {
                logger.warning("metrics sampling failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    func sample() async throws {
        let now = clock.now()
        let status = try await OutboxAdmin(database: database).status()
        let sessions = try await database.read { sql in
            try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("sessions")
                .where("expires_at", .greaterThan, SQLBind(Timestamp.string(from: now))).first()?.decode(column: "n", as: Int.self) ?? 0
        }
        Gauge(label: "zakops_sessions_active").record(sessions)
        Gauge(label: "zakops_outbox_pending").record(status.counts["pending", default: 0] + status.counts["processing", default: 0])
        Gauge(label: "zakops_dlq_size").record(status.counts["dead", default: 0])
        let oldest = status.oldestPendingAt.flatMap(Timestamp.date(from:)).map { max(0, now.timeIntervalSince($0)) } ?? 0
        Gauge(label: "zakops_outbox_oldest_pending_age_seconds").record(oldest)
        Gauge(label: "zakops_sse_connections").record(hub.stats(now: now).connections)
        if let last = try await BackupService.lastSuccess(in: database) {
            Gauge(label: "zakops_backup_last_success_timestamp_seconds").record(last.timeIntervalSince1970)
        }
    }
}
