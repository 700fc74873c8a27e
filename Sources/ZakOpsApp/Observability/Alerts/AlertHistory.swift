import Foundation

/// The instances' reports over the longest window a rule looks at (a day), and the signals
/// computed from them as PromQL would compute them from the same series. A counter restarts
/// only with its process, and a new process is a new instance, so no series ever resets:
/// each instance's counters start at 0 at its `startedAt`.
struct AlertHistory: Sendable {
    private struct Series: Sendable {
        let startedAt: Date
        var samples: [(at: Date, values: [String: Double])] = []
    }

    private var series: [String: Series] = [:]
    /// How long samples are kept: the longest window, and a margin.
    let keep: TimeInterval
    /// A gauge older than this is not read (Prometheus's staleness, five minutes).
    let staleAfter: TimeInterval = 300
    /// An instance whose last report is older than this is down (`instancesDown`).
    let downAfter: TimeInterval

    init(evaluationInterval: TimeInterval, keep: TimeInterval = 86_400 + 900) {
        self.keep = keep
        self.downAfter = max(60, 4 * evaluationInterval)
    }

    /// Adds what is new in the reports (a report already seen is ignored) and forgets what
    /// is older than `keep`, and instances that no longer report at all.
    mutating func record(_ reports: [InstanceReport], now: Date) {
        let present = Set(reports.map(\.instanceID))
        series = series.filter { present.contains($0.key) }
        for report in reports {
            // The same instance started again: its counters started again from 0, a new series.
            var entry = series[report.instanceID].flatMap { $0.startedAt == report.startedAt ? $0 : nil } ?? Series(startedAt: report.startedAt)
            if entry.samples.last.map({ report.sampledAt > $0.at }) ?? true {
                entry.samples.append((report.sampledAt, report.values))
            }
            if let cut = entry.samples.firstIndex(where: { now.timeIntervalSince($0.at) <= keep }), cut > 0 {
                entry.samples.removeFirst(cut)
            }
            series[report.instanceID] = entry
        }
    }

    /// The signal's value, nil when there is nothing to compute it from (as PromQL's empty result).
    func value(_ signal: AlertSignal, now: Date) -> Double? {
        switch signal {
        case let .rate(metric, labels, window):
            let key = PrometheusRules.selector(metric, labels)
            let rates = series.values.compactMap { rate(of: key, in: $0, window: TimeInterval(window), now: now) }
            return rates.isEmpty ? nil : rates.reduce(0, +)
        case let .delta(metric, window):
            return series.values.compactMap { delta(of: metric, in: $0, window: TimeInterval(window), now: now) }.max()
        case let .maximum(metric):
            return latest(metric, now: now).max()
        case let .minimum(metric):
            return latest(metric, now: now).min()
        case let .ratio(numerator, denominator):
            guard let top = value(numerator, now: now), let bottom = value(denominator, now: now), bottom != 0 else { return nil }
            return top / bottom
        case let .instanceRatio(numerator, denominator):
            return series.values.compactMap { entry -> Double? in
                guard let sample = fresh(entry, now: now), let top = sample.values[numerator], let bottom = sample.values[denominator],
                      bottom != 0 else { return nil }
                return top / bottom
            }.max()
        case let .secondsSince(metric):
            return latest(metric, now: now).max().map { now.timeIntervalSince1970 - $0 }
        case let .secondsUntil(metric):
            return latest(metric, now: now).min().map { $0 - now.timeIntervalSince1970 }
        case .instancesDown:
            return Double(series.values.filter { entry in entry.samples.last.map { now.timeIntervalSince($0.at) > downAfter } ?? false }.count)
        }
    }

    /// Whether the history reaches far enough back to compute the signal: every reporting
    /// instance has a sample at or before the window's start, or (for a counter) started inside
    /// the window, where it was 0. A restarted evaluator's history does not, for a window's
    /// length: it then neither fires nor resolves on a partial window.
    func covers(_ signal: AlertSignal, now: Date) -> Bool {
        switch signal {
        case let .rate(_, _, window):
            return coverage(window: TimeInterval(window), now: now, counterStarts: true)
        case let .delta(_, window):
            return coverage(window: TimeInterval(window), now: now, counterStarts: false)
        case let .ratio(numerator, denominator):
            return covers(numerator, now: now) && covers(denominator, now: now)
        case .maximum, .minimum, .instanceRatio, .secondsSince, .secondsUntil, .instancesDown:
            return true
        }
    }

    private func coverage(window: TimeInterval, now: Date, counterStarts: Bool) -> Bool {
        let from = now.addingTimeInterval(-window)
        return series.values.allSatisfy { entry in
            guard fresh(entry, now: now) != nil else { return true }
            return (counterStarts && entry.startedAt >= from) || (entry.samples.first.map { $0.at <= from } ?? false)
        }
    }

    /// Per-second increase of a counter over the window: from the last sample at or before the
    /// window's start (or the instance's start, where the counter was 0) to the latest sample.
    private func rate(of key: String, in entry: Series, window: TimeInterval, now: Date) -> Double? {
        guard let last = fresh(entry, now: now) else { return nil }
        let from = now.addingTimeInterval(-window)
        let start: (at: Date, value: Double)
        if entry.startedAt >= from {
            start = (entry.startedAt, 0)
        } else if let sample = entry.samples.last(where: { $0.at <= from }) ?? entry.samples.first {
            start = (sample.at, sample.values[key] ?? 0)
        } else {
            return nil
        }
        let span = last.at.timeIntervalSince(start.at)
        guard span > 0 else { return nil }
        return max(0, (last.values[key] ?? 0) - start.value) / span
    }

    private func delta(of metric: String, in entry: Series, window: TimeInterval, now: Date) -> Double? {
        guard let last = fresh(entry, now: now), let end = last.values[metric] else { return nil }
        let from = now.addingTimeInterval(-window)
        guard let start = (entry.samples.last { $0.at <= from } ?? entry.samples.first)?.values[metric] else { return nil }
        return end - start
    }

    private func latest(_ metric: String, now: Date) -> [Double] {
        series.values.compactMap { fresh($0, now: now)?.values[metric] }
    }

    private func fresh(_ entry: Series, now: Date) -> (at: Date, values: [String: Double])? {
        guard let last = entry.samples.last, now.timeIntervalSince(last.at) <= staleAfter else { return nil }
        return last
    }
}
