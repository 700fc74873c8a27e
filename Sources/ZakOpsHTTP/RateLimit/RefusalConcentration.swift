import Foundation
import Synchronization

/// How much of the last five minutes' rate-limit refusals one client caused: the "one client
/// dominating refusals" alert reads it as a single number, so no client address ever becomes
/// a metric label. Counts live in memory, per minute, at most `maxClients` distinct clients a
/// minute (past that, refusals count in the total only: a flood of distinct addresses is not
/// one client dominating).
public final class RefusalConcentration: Sendable {
    public static let shared = RefusalConcentration()

    static let minutes = 5
    let maxClients: Int

    private struct Minute {
        var index: Int64
        var total = 0
        var perClient: [String: Int] = [:]
    }

    private let buckets = Mutex([Minute]())

    init(maxClients: Int = 10_000) {
        self.maxClients = maxClients
    }

    public func record(client: String, at now: Date = Date()) {
        let index = Int64(now.timeIntervalSince1970 / 60)
        buckets.withLock { buckets in
            if buckets.last?.index != index { buckets.append(Minute(index: index)) }
            buckets.removeAll { $0.index <= index - Int64(Self.minutes) }
            let last = buckets.count - 1
            buckets[last].total += 1
            if buckets[last].perClient[client] != nil || buckets[last].perClient.count < maxClients {
                buckets[last].perClient[client, default: 0] += 1
            }
        }
    }

    /// The largest client's share of the refusals in the last five minutes; 0 without any.
    public func topShare(at now: Date = Date()) -> Double {
        let index = Int64(now.timeIntervalSince1970 / 60)
        return buckets.withLock { buckets in
            let recent = buckets.filter { $0.index > index - Int64(Self.minutes) }
            let total = recent.reduce(0) { $0 + $1.total }
            guard total > 0 else { return 0 }
            var perClient: [String: Int] = [:]
            for minute in recent { perClient.merge(minute.perClient, uniquingKeysWith: +) }
            return Double(perClient.values.max() ?? 0) / Double(total)
        }
    }
}
