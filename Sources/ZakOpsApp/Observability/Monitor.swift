import Foundation
import Logging
import ServiceLifecycle
import ZakOpsCore
import ZakOpsStore

/// Every `ALERT_EVALUATION_SECONDS`: samples the gauges, writes this instance's report (the
/// alert rules' counters and the gauges) to `metric_snapshots`, reads every instance's, and —
/// with `ALERTS_EMBEDDED` — evaluates the alerts (one instance at a time). Runs once per
/// `serve` process, beside the `/metrics` listener: the registry is the process's.
struct Monitor: Service {
    let sampler: MetricsSampler
    let evaluator: AlertEvaluator?
    let database: Database
    let clock: any AppClock
    let logger: Logger
    let interval: Duration
    /// Host and port (`AppComponents.monitor`).
    let instanceID: String
    let startedAt: Date

    func run() async throws {
        var history = AlertHistory(evaluationInterval: TimeInterval(interval.components.seconds))
        while !Task.isShuttingDownGracefully {
            do {
                try await tick(&history)
            } catch {
                logger.warning("monitoring tick failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                break
            }
        }
        // A clean stop is not an instance down.
        try? await AlertRepository.removeReport(instanceID: instanceID, in: database)
    }

    func tick(_ history: inout AlertHistory) async throws {
        var values = try await sampler.sample()
        values.merge(ZakOpsMetrics.totals.snapshot()) { gauge, _ in gauge }
        let now = clock.now()
        try await AlertRepository.writeReport(InstanceReport(instanceID: instanceID, startedAt: startedAt, sampledAt: now, values: values), in: database)
        // A report untouched for an hour is an instance gone for good: forgotten (and its
        // InstanceDown resolved), as a scrape target removed from service discovery.
        let reports = try await AlertRepository.reports(forgetBefore: now.addingTimeInterval(-3600), in: database)
        history.record(reports, now: now)
        try await evaluator?.evaluate(history, now: now)
    }
}
