import Synchronization

/// The counts of one instance, in memory, with a hard bound on how many keys it keeps.
///
/// Keys are spread over 16 shards, each behind its own lock. A shard that reaches its share of
/// `maxKeys` first forgets keys from past windows; if the current window alone fills it (a
/// client spraying source addresses), it forgets the keys with the lowest counts until it is
/// three quarters full. A sprayer's one-request keys go first, so a key close to its limit is
/// kept: filling the table cannot be used to reset someone's count. Memory stays below
/// roughly `maxKeys` × 150 bytes (about 15 MB for the default 100,000 keys).
public final class MemoryRateLimitStore: RateLimitStore {
    struct Entry {
        var windowStart: Int64
        var count: Int
    }

    final class Shard: Sendable {
        let entries = Mutex<[String: Entry]>([:])
    }

    static let shardCount = 16
    private let shards: [Shard]
    let capacityPerShard: Int

    public init(maxKeys: Int) {
        capacityPerShard = max(1, maxKeys / Self.shardCount)
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    public func record(key: String, windowStart: Int64, windowSeconds: Int) async throws -> Int {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(Self.shardCount))]
        let capacity = capacityPerShard
        return shard.entries.withLock { entries in
            if var entry = entries[key] {
                if entry.windowStart != windowStart { entry = Entry(windowStart: windowStart, count: 0) }
                entry.count += 1
                entries[key] = entry
                return entry.count
            }
            if entries.count >= capacity { Self.evict(&entries, capacity: capacity, currentWindow: windowStart) }
            entries[key] = Entry(windowStart: windowStart, count: 1)
            return 1
        }
    }

    /// The number of keys held, for the test that checks the bound.
    public var keyCount: Int {
        shards.reduce(0) { total, shard in total + shard.entries.withLock { $0.count } }
    }

    /// The most keys this store ever holds.
    public var maxKeys: Int { capacityPerShard * Self.shardCount }

    /// Makes room: past windows first, then the lowest counts, down to three quarters of capacity.
    static func evict(_ entries: inout [String: Entry], capacity: Int, currentWindow: Int64) {
        entries = entries.filter { $0.value.windowStart >= currentWindow }
        let target = capacity * 3 / 4
        guard entries.count > target else { return }
        // Smallest count threshold whose removal brings the shard down to the target.
        var histogram: [Int: Int] = [:]
        for entry in entries.values { histogram[entry.count, default: 0] += 1 }
        var excess = entries.count - target
        var threshold = 0
        for (count, keys) in histogram.sorted(by: { $0.key < $1.key }) where excess > 0 {
            threshold = count
            excess -= keys
        }
        entries = entries.filter { $0.value.count > threshold }
    }
}
