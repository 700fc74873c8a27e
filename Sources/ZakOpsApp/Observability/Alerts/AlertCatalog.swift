/// The built-in alerts: the checklist's "DLQ growth", "error rate" and "unusual traffic
/// patterns", and what an operator must hear about before users do. `docs/monitoring.md`
/// says what to do for each; every rule names its runbook.
public enum AlertCatalog {
    static let minute = 60
    static let day = 86_400

    public static let rules: [AlertRule] = [
        AlertRule(name: "ZakOpsDLQGrowing", severity: .critical, signal: .delta("zakops_dlq_size", window: 10 * minute),
                  comparison: .above, threshold: 0, forSeconds: 0,
                  summary: "Dead letters are accumulating: deliveries keep failing after every retry",
                  valueMeaning: "dead letters added in the last 10 minutes", runbook: "docs/runbooks/dlq-overflow.md"),
        AlertRule(name: "ZakOpsDLQNotEmpty", severity: .warning, signal: .maximum("zakops_dlq_size"),
                  comparison: .above, threshold: 0, forSeconds: 10 * minute,
                  summary: "The dead-letter queue has held messages for 10 minutes",
                  valueMeaning: "dead letters", runbook: "docs/runbooks/dlq-overflow.md"),
        AlertRule(name: "ZakOpsHighErrorRate", severity: .critical,
                  signal: .ratio(.rate("zakops_http_requests_total", labels: ["status": "5xx"], window: 5 * minute),
                                 .rate("zakops_http_requests_total", window: 5 * minute)),
                  comparison: .above, threshold: 0.01, forSeconds: 5 * minute,
                  summary: "More than 1% of requests are answered with a 5xx",
                  valueMeaning: "share of requests answered 5xx over 5 minutes", runbook: "docs/runbooks/error-rate.md"),
        AlertRule(name: "ZakOpsAuthFailureSpike", severity: .warning, signal: .rate("zakops_auth_failures_total", window: 10 * minute),
                  comparison: .above, threshold: 0.05,
                  baseline: .init(multiple: 5, signal: .rate("zakops_auth_failures_total", window: day)), forSeconds: 5 * minute,
                  summary: "Failed sign-ins are above five times their daily average (credential stuffing or a broken client)",
                  valueMeaning: "failed sign-ins per second over 10 minutes", runbook: "docs/runbooks/auth-breach.md"),
        AlertRule(name: "ZakOpsRateLimitSpike", severity: .warning, signal: .rate("zakops_rate_limited_total", window: 10 * minute),
                  comparison: .above, threshold: 0.1,
                  baseline: .init(multiple: 5, signal: .rate("zakops_rate_limited_total", window: day)), forSeconds: 5 * minute,
                  summary: "Rate-limit refusals are above five times their daily average",
                  valueMeaning: "refusals per second over 10 minutes", runbook: "docs/runbooks/unusual-traffic.md"),
        AlertRule(name: "ZakOpsUnusualTraffic", severity: .warning, signal: .rate("zakops_http_requests_total", window: 5 * minute),
                  comparison: .above, threshold: 1,
                  baseline: .init(multiple: 3, signal: .rate("zakops_http_requests_total", window: day)), forSeconds: 10 * minute,
                  summary: "Requests are above three times their daily average",
                  valueMeaning: "requests per second over 5 minutes", runbook: "docs/runbooks/unusual-traffic.md"),
        AlertRule(name: "ZakOpsOneClientDominatesRefusals", severity: .warning, signal: .maximum("zakops_rate_limited_top_client_share"),
                  comparison: .above, threshold: 0.5, forSeconds: 5 * minute,
                  summary: "One client causes most rate-limit refusals (a scraper or a brute-force attempt)",
                  valueMeaning: "share of the last 5 minutes' refusals due to one client", runbook: "docs/runbooks/unusual-traffic.md"),
        AlertRule(name: "ZakOpsOutboxLag", severity: .warning, signal: .maximum("zakops_outbox_oldest_pending_age_seconds"),
                  comparison: .above, threshold: 300, forSeconds: 5 * minute,
                  summary: "The oldest undelivered outbox message is more than 5 minutes old",
                  valueMeaning: "age of the oldest pending message, seconds", runbook: "docs/runbooks/dlq-overflow.md"),
        AlertRule(name: "ZakOpsSSENearCapacity", severity: .warning, signal: .instanceRatio("zakops_sse_connections", "zakops_sse_connections_limit"),
                  comparison: .above, threshold: 0.9, forSeconds: 5 * minute,
                  summary: "An instance holds more than 90% of its event streams (the oldest are shed at the cap)",
                  valueMeaning: "share of SSE_MAX_CONNECTIONS in use", runbook: "docs/runbooks/sse-overload.md"),
        AlertRule(name: "ZakOpsAuditChainBroken", severity: .critical, signal: .minimum("zakops_audit_chain_valid"),
                  comparison: .below, threshold: 1, forSeconds: 0,
                  summary: "The audit trail does not verify: an entry was changed, removed or inserted",
                  valueMeaning: "1 when the chain verifies, 0 when not", runbook: "docs/runbooks/data-breach.md"),
        AlertRule(name: "ZakOpsBackupMissing", severity: .critical, signal: .secondsSince("zakops_backup_last_success_timestamp_seconds"),
                  comparison: .above, threshold: 26 * 3600, forSeconds: 0,
                  summary: "No successful backup in 26 hours",
                  valueMeaning: "seconds since the last successful backup", runbook: "docs/runbooks/backup-restore.md"),
        AlertRule(name: "ZakOpsCertificateExpiring", severity: .warning, signal: .secondsUntil("zakops_tls_certificate_expiry_timestamp_seconds"),
                  comparison: .below, threshold: 14 * 86_400, forSeconds: 0,
                  summary: "The TLS certificate expires within 14 days",
                  valueMeaning: "seconds until the certificate expires", runbook: "docs/runbooks/tls-certificate.md"),
        AlertRule(name: "ZakOpsInstanceDown", severity: .critical, signal: .instancesDown,
                  comparison: .above, threshold: 0, forSeconds: minute,
                  summary: "An instance stopped answering its scrape (embedded: stopped reporting to the database)",
                  valueMeaning: "instances down", runbook: "docs/runbooks/instance-down.md"),
    ]

    public static func rule(named name: String) -> AlertRule? {
        rules.first { $0.name == name }
    }
}
