import Foundation
import Logging
import Metrics
import SQLKit
import Synchronization
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The gauges that are states rather than events: open sessions, outbox rows pending and the
/// age of the oldest, the DLQ's size, this instance's event streams and their limit, the
/// refusals' concentration on one client, the audit chain's verdict (re-verified every
/// `auditInterval`), the last successful backup, the TLS certificate's expiry. Each is
/// recorded for `/metrics` and returned for the embedded evaluator's report.
final class MetricsSampler: Sendable {
    let database: Database
    let hub: EventHub
    let clock: any AppClock
    let settings: Settings
    let logger: Logger
    let auditInterval: TimeInterval
    /// The served certificate's end (the TLS listener's, as last loaded or reloaded by SIGHUP).
    let certificateExpiry: (@Sendable () -> Date)?
    private let audit = Mutex<(at: Date, valid: Double)?>(nil)

    init(database: Database, hub: EventHub, clock: any AppClock, settings: Settings, logger: Logger, auditInterval: TimeInterval = 3600,
         certificateExpiry: (@Sendable () -> Date)? = nil) {
        self.certificateExpiry = certificateExpiry
        self.database = database
        self.hub = hub
        self.clock = clock
        self.settings = settings
        self.logger = logger
        self.auditInterval = auditInterval
    }

    func sample() async throws -> [String: Double] {
        let now = clock.now()
        let status = try await OutboxAdmin(database: database).status()
        let sessions = try await database.read { sql in
            try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("sessions")
                .where("expires_at", .greaterThan, SQLBind(Timestamp.string(from: now))).first()?.decode(column: "n", as: Int.self) ?? 0
        }
        var gauges: [String: Double] = [
            "zakops_sessions_active": Double(sessions),
            "zakops_outbox_pending": Double(status.counts["pending", default: 0] + status.counts["processing", default: 0]),
            "zakops_dlq_size": Double(status.counts["dead", default: 0]),
            "zakops_outbox_oldest_pending_age_seconds": status.oldestPendingAt.flatMap(Timestamp.date(from:)).map { max(0, now.timeIntervalSince($0)) } ?? 0,
            "zakops_sse_connections": Double(hub.stats(now: now).connections),
            "zakops_sse_connections_limit": Double(hub.limits.perInstance),
            "zakops_rate_limited_top_client_share": RefusalConcentration.shared.topShare(at: now),
            "zakops_audit_chain_valid": try await auditChainValid(now: now),
        ]
        if let last = try await BackupService.lastSuccess(in: database) {
            gauges["zakops_backup_last_success_timestamp_seconds"] = last.timeIntervalSince1970
        } else if settings.backupAgeRecipient != nil {
            // Backups are configured and none ever succeeded: as old as can be.
            gauges["zakops_backup_last_success_timestamp_seconds"] = 0
        }
        if let certificateExpiry {
            gauges["zakops_tls_certificate_expiry_timestamp_seconds"] = certificateExpiry().timeIntervalSince1970
        }
        for (name, value) in gauges { Gauge(label: name).record(value) }
        return gauges
    }

    /// 1 when the audit chain verifies, 0 when not; verified again once `auditInterval` passed.
    private func auditChainValid(now: Date) async throws -> Double {
        if let last = audit.withLock({ $0 }), now.timeIntervalSince(last.at) < auditInterval { return last.valid }
        let report = try await AuditVerifier(database: database, keys: settings.auditKeyRing).verify()
        let valid: Double = report.ok ? 1 : 0
        if !report.ok { logger.critical("security event", metadata: ["event": "audit_chain_broken", "first_problem_seq": .stringConvertible(report.problem?.seq ?? 0)]) }
        audit.withLock { $0 = (now, valid) }
        return valid
    }
}
