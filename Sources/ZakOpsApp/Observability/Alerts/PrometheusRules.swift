import Foundation

/// Renders the catalog as a Prometheus rule file. `deploy/prometheus/alerts.yml` is this
/// output (a test compares them), so the shipped rules and the embedded evaluator share one
/// definition. `timeScale` divides every window and `for` (the end-to-end test runs minutes
/// as seconds); thresholds stay as they are.
public enum PrometheusRules {
    public static func render(timeScale: Int = 1) -> String {
        var lines = [
            "# Rendered by `zakops alerts rules` from Sources/ZakOpsApp/Observability/Alerts/AlertCatalog.swift:",
            "# change the catalog and render again, never this file (a test compares the two).",
        ]
        if timeScale != 1 { lines.append("# Time scale 1/\(timeScale): windows and durations divided, for tests only.") }
        lines += ["groups:", "  - name: zakops", "    rules:"]
        for rule in AlertCatalog.rules {
            lines.append("      - alert: \(rule.name)")
            lines.append("        expr: \(expression(rule, timeScale: timeScale))")
            if rule.forSeconds > 0 { lines.append("        for: \(duration(rule.forSeconds, timeScale: timeScale))") }
            lines.append("        labels:")
            lines.append("          severity: \(rule.severity.rawValue)")
            lines.append("        annotations:")
            lines.append("          summary: \(quoted(rule.summary))")
            lines.append("          description: \(quoted("{{ $value }}: \(rule.valueMeaning)"))")
            lines.append("          runbook_url: \(quoted(rule.runbook))")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The rule's PromQL: the comparison, and the baseline's with its floor.
    static func expression(_ rule: AlertRule, timeScale: Int) -> String {
        let signal = promQL(rule.signal, timeScale: timeScale)
        let floor = "\(signal) \(rule.comparison.rawValue) \(number(rule.threshold))"
        guard let baseline = rule.baseline else { return floor }
        return "\(signal) \(rule.comparison.rawValue) \(number(baseline.multiple)) * \(promQL(baseline.signal, timeScale: timeScale)) and \(floor)"
    }

    static func promQL(_ signal: AlertSignal, timeScale: Int) -> String {
        switch signal {
        case let .rate(metric, labels, window):
            return "sum(rate(\(selector(metric, labels))[\(duration(window, timeScale: timeScale))]))"
        case let .delta(metric, window):
            return "max(delta(\(metric)[\(duration(window, timeScale: timeScale))]))"
        case let .maximum(metric):
            return "max(\(metric))"
        case let .minimum(metric):
            return "min(\(metric))"
        case let .ratio(numerator, denominator):
            return "\(promQL(numerator, timeScale: timeScale)) / \(promQL(denominator, timeScale: timeScale))"
        case let .instanceRatio(numerator, denominator):
            return "max(\(numerator) / \(denominator))"
        case let .secondsSince(metric):
            return "time() - max(\(metric))"
        case let .secondsUntil(metric):
            return "min(\(metric)) - time()"
        case .instancesDown:
            return #"count(up{job="zakops"} == 0)"#
        }
    }

    static func selector(_ metric: String, _ labels: [String: String]) -> String {
        guard !labels.isEmpty else { return metric }
        return metric + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    /// Seconds as a Prometheus duration in the largest whole unit (`1d`, `10m`, `45s`).
    static func duration(_ seconds: Int, timeScale: Int) -> String {
        let scaled = max(1, seconds / max(1, timeScale))
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] where scaled % size == 0 {
            return "\(scaled / size)\(unit)"
        }
        return "\(scaled)s"
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
