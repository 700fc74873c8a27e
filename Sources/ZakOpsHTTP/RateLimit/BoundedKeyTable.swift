import Synchronization

/// Per-key state in memory with a hard bound on the number of keys, spread over 16 shards
/// each behind its own lock.
///
/// A shard that reaches its share of `maxKeys` first forgets keys whose last window is more
/// than `horizon` seconds old; if the recent windows alone fill it (a client spraying source addresses or e-mails), it forgets
/// the keys with the lowest `weight` (requests counted) until it is three quarters full. A
/// sprayer's one-request keys go first, so a key close to its limit is kept: filling the table
/// cannot be used to reset someone's count.
final class BoundedKeyTable<Entry: Sendable>: Sendable {
    struct Slot: Sendable {
        var windowStart: Int64
        var entry: Entry
    }

    final class Shard: Sendable {
        let slots = Mutex<[String: Slot]>([:])
    }

    static var shardCount: Int { 16 }
    private let shards: [Shard]
    let capacityPerShard: Int
    /// How long (seconds) an entry still matters after its window started: 0 when an entry
    /// serves one window, a whole rolling window for rolling counts.
    let horizon: Int64
    private let weight: @Sendable (Entry) -> Int

    init(maxKeys: Int, horizon: Int64 = 0, weight: @escaping @Sendable (Entry) -> Int) {
        capacityPerShard = max(1, maxKeys / Self.shardCount)
        self.horizon = horizon
        shards = (0..<Self.shardCount).map { _ in Shard() }
        self.weight = weight
    }

    /// Runs `body` on the key's entry for the window (one from `make` when the key is new or
    /// its entry belongs to an earlier window: `make` gets that earlier entry, if any, to carry
    /// over or drop), under the shard's lock. A late call for a
    /// window older than the stored one (a request that crossed a window boundary) joins the
    /// stored, newer window: it neither resets that window nor escapes counting. `body` gets the
    /// window it is working on.
    func update<T>(_ key: String, windowStart: Int64, make: (Entry?) -> Entry, _ body: (inout Entry, Int64) -> T) -> T {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(Self.shardCount))]
        let capacity = capacityPerShard
        return shard.slots.withLock { slots in
            if slots[key] == nil, slots.count >= capacity {
                evict(&slots, capacity: capacity, currentWindow: windowStart)
            }
            var slot = slots[key] ?? Slot(windowStart: windowStart, entry: make(nil))
            if slot.windowStart < windowStart { slot = Slot(windowStart: windowStart, entry: make(slot.entry)) }
            let result = body(&slot.entry, slot.windowStart)
            slots[key] = slot
            return result
        }
    }

    /// Runs `body` on the key's entry only if it still belongs to `windowStart` (a reservation
    /// finishing after its window ended must not touch the next window's entry).
    func updateIfCurrent(_ key: String, windowStart: Int64, _ body: (inout Entry) -> Void) {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(Self.shardCount))]
        shard.slots.withLock { slots in
            guard var slot = slots[key], slot.windowStart == windowStart else { return }
            body(&slot.entry)
            slots[key] = slot
        }
    }

    /// Reads the key's entry for the window, or an earlier one within the horizon, without
    /// creating one (nil: the key has none that matters); `body` gets the entry's window.
    func peek<T>(_ key: String, windowStart: Int64, _ body: (Entry, Int64) -> T) -> T? {
        let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(Self.shardCount))]
        return shard.slots.withLock { slots in
            guard let slot = slots[key], slot.windowStart + horizon >= windowStart else { return nil }
            return body(slot.entry, slot.windowStart)
        }
    }

    /// The number of keys held.
    var keyCount: Int {
        shards.reduce(0) { total, shard in total + shard.slots.withLock { $0.count } }
    }

    /// The most keys the table ever holds.
    var maxKeys: Int { capacityPerShard * Self.shardCount }

    /// Makes room: windows past the horizon first, then the lowest weights, down to three
    /// quarters of capacity.
    private func evict(_ slots: inout [String: Slot], capacity: Int, currentWindow: Int64) {
        let horizon = self.horizon
        slots = slots.filter { $0.value.windowStart + horizon >= currentWindow }
        let target = capacity * 3 / 4
        guard slots.count > target else { return }
        var histogram: [Int: Int] = [:]
        for slot in slots.values { histogram[weight(slot.entry), default: 0] += 1 }
        var excess = slots.count - target
        var threshold = Int.min
        for (value, keys) in histogram.sorted(by: { $0.key < $1.key }) where excess > 0 {
            threshold = value
            excess -= keys
        }
        slots = slots.filter { weight($0.value.entry) > threshold }
    }
}
