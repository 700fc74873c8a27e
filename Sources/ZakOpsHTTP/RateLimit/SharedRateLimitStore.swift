/// Counts shared by every instance (`SharedRateLimitCounter`, a database table), without a
/// database round trip for every request.
///
/// An instance reserves positions in a key's rolling window in blocks: it adds a block to the
/// shared count of the current bucket (`RateWindow`), learns the window's total, and hands the
/// block's positions out locally, one per request, until the bucket ends. Blocks are 5 % of the
/// limit (at most 1,000, at least 1), so the checklist's 10/min auth limit is exact across
/// instances (blocks of one), 60/min API requests cost one round trip every three requests,
/// and a limit set very high costs almost none. Positions reserved but not used by the end of
/// the bucket count as used: the deployment never allows more than the limit, and a client
/// spread over N instances may be refused up to N × 5 % early. Once a key's positions pass
/// the limit (or it has handed out the limit's own position: positions only grow), the instance
/// refuses it locally until the bucket ends, so a flood stops reaching the database. One reservation per key is in flight at a time; concurrent requests wait for it.
public final class SharedRateLimitStore: RateLimitStore {
    struct Reservation: Sendable {
        /// The next position to hand out, and the last one reserved (`next > end`: none left).
        var next = 1
        var end = 0
        var exhausted = false
        var pending: Task<Int, any Error>?
        var used = 0
    }

    enum Step {
        case position(Int)
        case wait(Task<Int, any Error>)
    }

    let counter: any SharedRateLimitCounter
    private let table: BoundedKeyTable<Reservation>

    public init(counter: any SharedRateLimitCounter, maxKeys: Int) {
        self.counter = counter
        table = BoundedKeyTable(maxKeys: maxKeys) { $0.used }
    }

    /// The block size for a limit.
    public static func chunk(for limit: Int) -> Int {
        max(1, min(limit / 20, 1_000))
    }

    public func record(key: String, window: RateWindow, limit: Int) async throws -> Int {
        let chunk = Self.chunk(for: limit)
        while true {
            let step: Step = table.update(key, windowStart: window.bucket, make: { _ in Reservation() }) { reservation, bucket in
                // Positions only grow, everywhere: once this instance has handed out the
                // limit's own position, every later one is over it. No round trip needed.
                if reservation.exhausted || reservation.next > limit {
                    reservation.exhausted = true
                    return .position(limit + 1)
                }
                if reservation.next <= reservation.end {
                    let position = reservation.next
                    reservation.next += 1
                    reservation.used += 1
                    if position > limit { reservation.exhausted = true }
                    return .position(position)
                }
                if let pending = reservation.pending { return .wait(pending) }
                // For the bucket the entry belongs to (a late request joins the newer one).
                let task = reserve(chunk, key: key, window: RateWindow(bucket: bucket, bucketSeconds: window.bucketSeconds), limit: limit)
                reservation.pending = task
                return .wait(task)
            }
            switch step {
            case .position(let position):
                return position
            case .wait(let task):
                // The reservation has updated the table when its task ends: look again. A failed
                // reservation fails every request waiting for it (the database is down or slow:
                // retrying one after another would make each wait longer than the last).
                _ = try await task.value
            }
        }
    }

    public func isExhausted(key: String, window: RateWindow, limit: Int) -> Bool {
        table.peek(key, windowStart: window.bucket) { reservation, _ in
            reservation.exhausted || reservation.next > limit
        } ?? false
    }

    /// Adds a block to the shared count and records it in the table before the task ends, so
    /// that whoever awaits the task finds the block there.
    private func reserve(_ chunk: Int, key: String, window: RateWindow, limit: Int) -> Task<Int, any Error> {
        Task { [counter, table] in
            let total: Int
            do {
                total = try await counter.add(chunk, key: key, window: window)
            } catch {
                table.updateIfCurrent(key, windowStart: window.bucket) { $0.pending = nil }
                throw error
            }
            // If the bucket ended meanwhile, its entry is gone (a fresh one has no pending
            // reservation) and the block is simply not used.
            table.updateIfCurrent(key, windowStart: window.bucket) { reservation in
                reservation.pending = nil
                reservation.next = total - chunk + 1
                reservation.end = total
            }
            // A block wholly over the limit only refuses: given back, so that refused requests
            // take no place in the window (once per bucket, and only for a key being refused).
            if total - chunk >= limit { _ = try? await counter.add(-chunk, key: key, window: window) }
            return total
        }
    }

    /// The number of keys held locally, for the test that checks the bound.
    public var keyCount: Int { table.keyCount }
}
