import Foundation

/// One instance's numbers at one moment, as it wrote them to `metric_snapshots`: the alert
/// rules' counter totals (since the instance started) and the sampled gauges.
struct InstanceReport: Sendable, Equatable {
    let instanceID: String
    let startedAt: Date
    let sampledAt: Date
    let values: [String: Double]
}
