import Foundation

/// One alert, defined once: `deploy/prometheus/alerts.yml` is rendered from it
/// (`PrometheusRules`) and the embedded evaluator (`AlertEvaluator`) computes the same
/// condition from the same numbers, so the two cannot drift.
public struct AlertRule: Sendable {
    public enum Severity: String, Sendable, Codable {
        case critical, warning
    }

    /// Whether the embedded evaluator can compute it too (an instance that is down cannot
    /// report itself; a cluster's instances report to the database, so the evaluator sees
    /// them stop).
    public enum Scope: Sendable {
        case everywhere
        case prometheusOnly
    }

    /// `signal > multiple × baseline`, and `signal > threshold` as a floor so that a quiet
    /// system's first few events do not page anyone.
    public struct Baseline: Sendable {
        public let multiple: Double
        public let signal: AlertSignal
    }

    public enum Comparison: String, Sendable {
        case above = ">"
        case below = "<"

        func holds(_ value: Double, _ threshold: Double) -> Bool {
            switch self {
            case .above: value > threshold
            case .below: value < threshold
            }
        }
    }

    public let name: String
    public let severity: Severity
    public let signal: AlertSignal
    public let comparison: Comparison
    public let threshold: Double
    public var baseline: Baseline? = nil
    /// How long the condition must hold before the alert fires (Prometheus's `for`).
    public let forSeconds: Int
    public let summary: String
    /// What the value means, for the notification (`{{ $value }}` in Prometheus).
    public let valueMeaning: String
    /// The runbook to open, relative to the repository.
    public let runbook: String
    public var scope: Scope = .everywhere
}

/// A number computed from the metrics, the way PromQL would compute it over every instance's
/// series. Windows are in seconds.
public indirect enum AlertSignal: Sendable {
    /// `sum(rate(metric{labels}[window]))`: events per second, all instances.
    case rate(String, labels: [String: String] = [:], window: Int)
    /// `max(delta(metric[window]))`: the largest change of a gauge over the window.
    case delta(String, window: Int)
    /// `max(metric)` across instances.
    case maximum(String)
    /// `min(metric)` across instances.
    case minimum(String)
    /// `a / b`.
    case ratio(AlertSignal, AlertSignal)
    /// `max(a / b)`: per instance, the largest.
    case instanceRatio(String, String)
    /// `time() - max(metric)`: seconds since a timestamp gauge.
    case secondsSince(String)
    /// `min(metric) - time()`: seconds until a timestamp gauge.
    case secondsUntil(String)
    /// `count(up{job="zakops"} == 0)`: instances that stopped answering (or, embedded,
    /// stopped reporting).
    case instancesDown
}
