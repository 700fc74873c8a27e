import CoreMetrics
import Synchronization

/// The counters the alerts read, as plain totals: the Prometheus registry renders text for a
/// scrape, but the embedded evaluator needs numbers. A second metrics backend beside the
/// registry (swift-metrics' `MultiplexMetricsHandler`) keeps, for each counter a rule names,
/// its total over all label sets and the totals of the label subsets the rules select (say
/// `zakops_http_requests_total{status="5xx"}`). Every other metric costs it nothing.
final class MetricTotals: MetricsFactory {
    /// Series keyed as `PrometheusRules.selector` writes them.
    private let totals = Mutex([String: Int64]())
    /// Counter name → the label subsets selected for it.
    private let selections: [String: [[String: String]]]

    init(rules: [AlertRule]) {
        var selections: [String: [[String: String]]] = [:]
        func collect(_ signal: AlertSignal) {
            switch signal {
            case let .rate(metric, labels, _):
                if !(selections[metric]?.contains(labels) ?? false) { selections[metric, default: []].append(labels) }
            case let .ratio(numerator, denominator):
                collect(numerator)
                collect(denominator)
            default:
                break
            }
        }
        for rule in rules {
            collect(rule.signal)
            if let baseline = rule.baseline { collect(baseline.signal) }
        }
        self.selections = selections
    }

    func snapshot() -> [String: Double] {
        totals.withLock { $0.mapValues(Double.init) }
    }

    private final class Handler: CounterHandler {
        let keys: [String]
        let totals: MetricTotals
        init(keys: [String], totals: MetricTotals) {
            self.keys = keys
            self.totals = totals
        }
        func increment(by amount: Int64) {
            totals.totals.withLock { totals in
                for key in keys { totals[key, default: 0] += amount }
            }
        }
        func reset() {}
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        guard let subsets = selections[label] else { return NOOPMetricsHandler.instance }
        let keys = subsets.filter { subset in
            subset.allSatisfy { key, value in dimensions.contains { $0.0 == key && $0.1 == value } }
        }.map { PrometheusRules.selector(label, $0) }
        return keys.isEmpty ? NOOPMetricsHandler.instance : Handler(keys: keys, totals: self)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { NOOPMetricsHandler.instance }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { NOOPMetricsHandler.instance }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler { NOOPMetricsHandler.instance }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
