/// The counts of one instance, in memory, with a hard bound on how many keys it keeps (see
/// `BoundedKeyTable`). Memory stays below roughly `maxKeys` × 250 bytes (about 25 MB for the
/// default 100,000 keys).
public final class MemoryRateLimitStore: RateLimitStore {
    private let table: BoundedKeyTable<RollingCounts>

    public init(maxKeys: Int) {
        // A key's counts matter for a whole window after its last request.
        table = BoundedKeyTable(maxKeys: maxKeys, horizon: 70) { $0.counts.reduce(0, +) }
    }

    public func record(key: String, window: RateWindow, limit: Int) async throws -> Int {
        table.update(key, windowStart: window.bucket, make: { $0 ?? RollingCounts() }) { counts, _ in
            let total = counts.total(in: window)
            guard total < limit else { return limit + 1 }
            counts.count(in: window)
            return total + 1
        }
    }

    public func isExhausted(key: String, window: RateWindow, limit: Int) -> Bool {
        (table.peek(key, windowStart: window.bucket) { counts, _ in counts.total(in: window) } ?? 0) >= limit
    }

    /// The number of keys held, for the test that checks the bound.
    public var keyCount: Int { table.keyCount }

    /// The most keys this store ever holds.
    public var maxKeys: Int { table.maxKeys }
}
