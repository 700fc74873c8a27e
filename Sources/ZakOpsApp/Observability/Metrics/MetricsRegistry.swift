import CoreMetrics
import Metrics
import Prometheus
import ZakOpsCore

/// The process's metrics: swift-metrics, backed by swift-prometheus's registry, which
/// `/metrics` renders in the Prometheus text format. Every `Counter`, `Timer` and gauge the
/// code records goes here once `bootstrap()` ran (swift-metrics allows one backend per process,
/// so it runs once, whoever asks first: `serve`, or a test).
///
/// Labels stay bounded: route patterns (never raw paths), methods, status classes, reason
/// classes and group names — never ids, addresses or e-mails.
public enum ZakOpsMetrics {
    public static let registry = PrometheusCollectorRegistry()
    /// The alert rules' counters as numbers, for the embedded evaluator.
    static let totals = MetricTotals(rules: AlertCatalog.rules)

    private static let bootstrapped: Bool = {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request durations: from a millisecond to ten seconds.
        factory.defaultDurationHistogramBuckets = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                                   .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        MetricsSystem.bootstrap(MultiplexMetricsHandler(factories: [factory, totals]))
        let info = Gauge(label: "zakops_build_info", dimensions: [("version", BuildInfo.version)])
        info.record(1)
        return true
    }()

    /// Makes the Prometheus registry the metrics backend (once per process).
    public static func bootstrap() {
        _ = bootstrapped
    }

    /// The registry in the Prometheus text format.
    public static func render() -> String {
        registry.emitToString()
    }
}
