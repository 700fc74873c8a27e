/// The counts of one instance, in memory, with a hard bound on how many keys it keeps (see
/// `BoundedKeyTable`). Memory stays below roughly `maxKeys` × 150 bytes (about 15 MB for the
/// default 100,000 keys).
public final class MemoryRateLimitStore: RateLimitStore {
    private let table: BoundedKeyTable<Int>

    public init(maxKeys: Int) {
        table = BoundedKeyTable(maxKeys: maxKeys) { $0 }
    }

    public func record(key: String, windowStart: Int64, windowSeconds: Int, limit: Int) async throws -> Int {
        table.update(key, windowStart: windowStart, make: { 0 }) { count, _ in
            count += 1
            return count
        }
    }

    public func isExhausted(key: String, windowStart: Int64, limit: Int) -> Bool {
        (table.peek(key, windowStart: windowStart) { $0 } ?? 0) >= limit
    }

    /// The number of keys held, for the test that checks the bound.
    public var keyCount: Int { table.keyCount }

    /// The most keys this store ever holds.
    public var maxKeys: Int { table.maxKeys }
}
