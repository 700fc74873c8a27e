import Foundation
import Testing
import ZakOpsCore
@testable import ZakOpsApp

/// The built-in alerts, each driven through the embedded evaluator's history and state machine
/// on a manual timeline: quiet, then the trouble (pending for the rule's `for`, then firing,
/// never before), then quiet again (resolved). The same rules' PromQL is tested by promtool
/// (`deploy/prometheus/alerts_test.yml`).
@Suite("Alert rules")
struct AlertRuleTests {
    /// The numbers each instance reports at `t` seconds, in the quiet or the troubled phase.
    typealias Values = @Sendable (_ t: Double, _ troubled: Bool) -> [String: [String: Double]]

    struct Run {
        var firedAt: Double?
        var resolvedAt: Double?
        var transitions: [AlertStatus.Transition] = []
    }

    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Feeds reports every `step` seconds: `warmup` quiet seconds (sampled every 5 minutes, as
    /// a day of history), `trouble` seconds troubled, `calm` seconds quiet; evaluates the rule
    /// at each report. Reports of an instance missing from `values` keep their last time (it
    /// stopped reporting).
    static func run(_ rule: AlertRule, warmup: Double = 0, trouble: Double, calm: Double, step: Double = 15, values: Values) -> (Run, troubleAt: Double) {
        var history = AlertHistory(evaluationInterval: step)
        var status = AlertStatus.inactive(rule.name)
        var run = Run()
        var reports: [String: InstanceReport] = [:]
        var t = 0.0
        func tick(_ troubled: Bool) {
            let now = start.addingTimeInterval(t)
            for (instance, numbers) in values(t, troubled) {
                reports[instance] = InstanceReport(instanceID: instance, startedAt: start, sampledAt: now, values: numbers)
            }
            history.record(Array(reports.values), now: now)
            let value = history.value(rule.signal, now: now)
            let holds = AlertEvaluator.holds(rule, value: value, baseline: rule.baseline.flatMap { history.value($0.signal, now: now) })
            if !holds && !history.covers(rule.signal, now: now) { return }
            let (next, transition) = status.step(holds: holds, value: value, forSeconds: rule.forSeconds, now: now)
            status = next
            if let transition {
                run.transitions.append(transition)
                if transition == .fired, run.firedAt == nil { run.firedAt = t }
                if transition == .resolved, run.resolvedAt == nil { run.resolvedAt = t }
            }
        }
        while t < warmup { tick(false); t += 300 }
        let troubleAt = t
        while t < warmup + trouble { tick(true); t += step }
        while t < warmup + trouble + calm { tick(false); t += step }
        return (run, troubleAt)
    }

    static func rule(_ name: String) throws -> AlertRule {
        try #require(AlertCatalog.rule(named: name))
    }

    /// Fires no earlier than its `for` after the trouble starts (within one step of it), and
    /// resolves once quiet.
    static func expectFiresAndResolves(_ name: String, warmup: Double = 0, trouble: Double = 1800, calm: Double = 1800,
                                       values: @escaping Values) throws {
        let rule = try rule(name)
        let (run, troubleAt) = Self.run(rule, warmup: warmup, trouble: trouble, calm: calm, values: values)
        let fired = try #require(run.firedAt, "\(name) never fired")
        #expect(fired - troubleAt >= Double(rule.forSeconds), "\(name) fired before its for")
        #expect(fired - troubleAt <= Double(rule.forSeconds) + 120, "\(name) fired late")
        #expect(run.resolvedAt.map { $0 > fired } == true, "\(name) never resolved")
        #expect(run.transitions == [.fired, .resolved], "\(name): \(run.transitions)")
    }

    static func one(_ values: [String: Double]) -> [String: [String: Double]] { ["a": values] }

    @Test("the shipped deploy/prometheus/alerts.yml is the catalog rendered (one definition for both evaluators)")
    func shippedRules() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let shipped = try String(contentsOf: root.appendingPathComponent("deploy/prometheus/alerts.yml"), encoding: .utf8)
        #expect(shipped == PrometheusRules.render(), "render again: swift run zakops alerts rules --out deploy/prometheus/alerts.yml")
        // Every rule names a runbook that exists.
        for rule in AlertCatalog.rules {
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(rule.runbook).path), "\(rule.name): \(rule.runbook)")
        }
        #expect(Set(AlertCatalog.rules.map(\.name)).count == AlertCatalog.rules.count)
    }

    @Test("the time scale divides windows and durations, not thresholds")
    func timeScale() {
        let scaled = PrometheusRules.render(timeScale: 30)
        #expect(scaled.contains("max(delta(zakops_dlq_size[20s])) > 0"))
        #expect(scaled.contains(#"sum(rate(zakops_http_requests_total{status="5xx"}[10s])) / sum(rate(zakops_http_requests_total[10s])) > 0.01"#))
        #expect(scaled.contains("time() - max(zakops_backup_last_success_timestamp_seconds) > 93600"))
    }

    @Test("DLQ growing fires while dead letters are added and resolves once none were for its window")
    func dlqGrowing() throws {
        try Self.expectFiresAndResolves("ZakOpsDLQGrowing", warmup: 900) { t, troubled in
            // Two dead letters a minute while troubled; then the count stays where it got to.
            Self.one(["zakops_dlq_size": troubled ? (t / 30).rounded(.down) : (t < 900 ? 0 : 200)])
        }
    }

    @Test("DLQ not empty fires after 10 minutes with dead letters, resolves when purged")
    func dlqNotEmpty() throws {
        try Self.expectFiresAndResolves("ZakOpsDLQNotEmpty") { _, troubled in Self.one(["zakops_dlq_size": troubled ? 3 : 0]) }
    }

    @Test("5xx above 1% for 5 minutes fires; 0.5% does not")
    func errorRate() throws {
        let key5xx = #"zakops_http_requests_total{status="5xx"}"#
        try Self.expectFiresAndResolves("ZakOpsHighErrorRate") { t, troubled in
            // 10 requests a second; 5% of them 5xx while troubled (the count stays after).
            let errors = troubled ? t * 0.5 : (t > 1000 ? 900 : 0)
            return Self.one(["zakops_http_requests_total": t * 10, key5xx: errors])
        }
        let rule = try Self.rule("ZakOpsHighErrorRate")
        let (low, _) = Self.run(rule, trouble: 1800, calm: 0) { t, _ in Self.one(["zakops_http_requests_total": t * 10, key5xx: t * 0.05]) }
        #expect(low.firedAt == nil)
    }

    /// A quiet day at `base` per second, then `spike` per second.
    static func spike(_ metric: String, base: Double, spike: Double, extra: [String: Double] = [:]) -> Values {
        { t, troubled in
            let day = 86_400.0
            let value = t <= day ? t * base : day * base + (t - day) * (troubled ? spike : base)
            return Self.one([metric: value].merging(extra) { a, _ in a })
        }
    }

    @Test("failed sign-ins above 5× their daily average (and above the floor) fire; a busy but usual day does not")
    func authFailureSpike() throws {
        // The spike's count keeps going at the base rate after: the counter never goes back.
        try Self.expectFiresAndResolves("ZakOpsAuthFailureSpike", warmup: 86_400, values: Self.spike("zakops_auth_failures_total", base: 0.01, spike: 1))
        let rule = try Self.rule("ZakOpsAuthFailureSpike")
        // Always 0.2/s (above the 0.05 floor), so never 5× the day's average.
        let (usual, _) = Self.run(rule, warmup: 86_400, trouble: 1800, calm: 0, values: Self.spike("zakops_auth_failures_total", base: 0.2, spike: 0.2))
        #expect(usual.firedAt == nil)
        // 5× a near-zero day, but under the floor: not worth a page.
        let (quiet, _) = Self.run(rule, warmup: 86_400, trouble: 1800, calm: 0, values: Self.spike("zakops_auth_failures_total", base: 0.0001, spike: 0.01))
        #expect(quiet.firedAt == nil)
    }

    @Test("rate-limit refusals spiking fire")
    func rateLimitSpike() throws {
        try Self.expectFiresAndResolves("ZakOpsRateLimitSpike", warmup: 86_400, values: Self.spike("zakops_rate_limited_total", base: 0.01, spike: 2))
    }

    @Test("requests above 3× their daily average fire after 10 minutes")
    func unusualTraffic() throws {
        try Self.expectFiresAndResolves("ZakOpsUnusualTraffic", warmup: 86_400, values: Self.spike("zakops_http_requests_total", base: 5, spike: 50))
    }

    @Test("one client causing most refusals fires")
    func oneClient() throws {
        try Self.expectFiresAndResolves("ZakOpsOneClientDominatesRefusals") { _, troubled in
            Self.one(["zakops_rate_limited_top_client_share": troubled ? 0.9 : 0.1])
        }
    }

    @Test("an outbox message older than 5 minutes for 5 minutes fires")
    func outboxLag() throws {
        try Self.expectFiresAndResolves("ZakOpsOutboxLag") { t, troubled in
            Self.one(["zakops_outbox_oldest_pending_age_seconds": troubled ? 301 + t.truncatingRemainder(dividingBy: 100) : 2])
        }
    }

    @Test("an instance above 90% of its stream limit fires; another instance's low use does not hide it")
    func sseCapacity() throws {
        try Self.expectFiresAndResolves("ZakOpsSSENearCapacity") { _, troubled in
            ["a": ["zakops_sse_connections": troubled ? 95 : 10, "zakops_sse_connections_limit": 100],
             "b": ["zakops_sse_connections": 1, "zakops_sse_connections_limit": 100]]
        }
    }

    @Test("a broken audit chain fires at once")
    func auditChain() throws {
        try Self.expectFiresAndResolves("ZakOpsAuditChainBroken") { _, troubled in Self.one(["zakops_audit_chain_valid": troubled ? 0 : 1]) }
    }

    @Test("no backup for 26 hours fires")
    func backupMissing() throws {
        try Self.expectFiresAndResolves("ZakOpsBackupMissing") { t, troubled in
            let now = Self.start.timeIntervalSince1970 + t
            return Self.one(["zakops_backup_last_success_timestamp_seconds": troubled ? now - 27 * 3600 : now - 3600])
        }
    }

    @Test("a certificate expiring within 14 days fires")
    func certificateExpiring() throws {
        try Self.expectFiresAndResolves("ZakOpsCertificateExpiring") { t, troubled in
            let now = Self.start.timeIntervalSince1970 + t
            return Self.one(["zakops_tls_certificate_expiry_timestamp_seconds": troubled ? now + 10 * 86_400 : now + 60 * 86_400])
        }
    }

    @Test("an instance that stops reporting fires after a minute; it resolves when it reports again")
    func instanceDown() throws {
        try Self.expectFiresAndResolves("ZakOpsInstanceDown", warmup: 600) { _, troubled in
            troubled ? ["a": ["zakops_dlq_size": 0]] : ["a": ["zakops_dlq_size": 0], "b": ["zakops_dlq_size": 0]]
        }
    }

    @Test("a fresh evaluator fires on a partial window but resolves only once the window is whole")
    func partialWindow() throws {
        let rule = try Self.rule("ZakOpsDLQGrowing")
        // Growth from the first minutes: fires at once, though 10 minutes are not yet seen.
        let (early, _) = Self.run(rule, trouble: 60, calm: 1200) { t, troubled in Self.one(["zakops_dlq_size": troubled ? t / 15 : 4]) }
        #expect(early.firedAt == 15)
        // Resolved only after a whole quiet window from the start of the history.
        #expect(early.resolvedAt.map { $0 >= 600 } == true)
    }

    @Test("a pending alert whose condition stops holding before its for goes back quietly (no notification)")
    func pendingGoesBack() throws {
        let rule = try Self.rule("ZakOpsDLQNotEmpty")
        let (run, _) = Self.run(rule, trouble: 300, calm: 600) { _, troubled in Self.one(["zakops_dlq_size": troubled ? 3 : 0]) }
        #expect(run.transitions.isEmpty)
    }
}
