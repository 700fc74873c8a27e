import Foundation
import Testing
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsTestSupport

/// The limiter and its stores alone, without a server (the limits as clients meet them are in
/// ZakOpsAppTests' RateLimitTests).
@Suite("Rate limiter")
struct RateLimiterTests {
    static func bucket(_ start: Int64) -> RateWindow { RateWindow(bucket: start, bucketSeconds: 10) }

    @Test("a late request for a past bucket joins the current one: it neither resets it nor escapes counting", .timeLimit(.minutes(1)))
    func lateRequestForPastWindow() async throws {
        let store = MemoryRateLimitStore(maxKeys: 1_000)
        for _ in 1...5 { _ = try await store.record(key: "k", window: Self.bucket(120), limit: 10) }
        #expect(try await store.record(key: "k", window: Self.bucket(110), limit: 10) == 6)
        #expect(try await store.record(key: "k", window: Self.bucket(120), limit: 10) == 7)
        // The shared store too, and it returns (a request that crossed a boundary once looped).
        let shared = SharedRateLimitStore(counter: CountingCounter(), maxKeys: 1_000)
        for _ in 1...5 { _ = try await shared.record(key: "k", window: Self.bucket(120), limit: 60) }
        #expect(try await shared.record(key: "k", window: Self.bucket(110), limit: 60) == 6)
        #expect(try await shared.record(key: "k", window: Self.bucket(120), limit: 60) == 7)
    }

    @Test("rolling window: the 11th login in any 60 s is refused across a minute boundary, in both stores; refusals do not count", .timeLimit(.minutes(1)))
    func rollingWindow() async throws {
        let minute = Date(timeIntervalSince1970: 1_800_000_000 / 60 * 60)
        for store in [MemoryRateLimitStore(maxKeys: 1_000), SharedRateLimitStore(counter: CountingCounter(), maxKeys: 1_000)] as [any RateLimitStore] {
            let clock = ManualClock(minute.addingTimeInterval(55))
            let limiter = RateLimiter(store: store, clock: clock)
            let policy = RateLimitPolicy(name: "auth", limit: 10)
            for _ in 1...10 { #expect(try await limiter.check(policy, key: "ip:192.0.2.1").allowed) }
            #expect(try await !limiter.check(policy, key: "ip:192.0.2.1").allowed)
            // Ten seconds later a new minute has begun: a fixed window would allow ten more.
            clock.advance(by: 10)
            let refused = try await limiter.check(policy, key: "ip:192.0.2.1")
            #expect(!refused.allowed)
            #expect(refused.resetSeconds >= 1 && refused.resetSeconds <= 10)
            #expect(limiter.isExhausted(policy, key: "ip:192.0.2.1"))
            // 64 s after the ten: still inside the window's oldest bucket (conservative by up to 10 s).
            clock.advance(by: 54)
            #expect(try await !limiter.check(policy, key: "ip:192.0.2.1").allowed)
            // Once their bucket has left the window, ten more; the refusals above took no place.
            clock.advance(by: 1)
            for _ in 1...10 { #expect(try await limiter.check(policy, key: "ip:192.0.2.1").allowed) }
            #expect(try await !limiter.check(policy, key: "ip:192.0.2.1").allowed)
        }
    }


    /// A shared counter in memory that counts its calls (the database-backed one is exercised
    /// by the two-instance tests on PostgreSQL).
    actor CountingCounter: SharedRateLimitCounter {
        var totals: [String: Int] = [:]
        var calls = 0
        func add(_ amount: Int, key: String, window: RateWindow) async throws -> Int {
            calls += 1
            totals["\(key)@\(window.bucket)", default: 0] += amount
            return stride(from: window.oldestBucket, through: window.bucket, by: Int(window.bucketSeconds))
                .reduce(0) { $0 + (totals["\(key)@\($1)"] ?? 0) }
        }
    }

    @Test("shared counts are reserved in blocks of 5 % of the limit, and a key over its limit stops reaching the shared counter")
    func reservationBlocks() async throws {
        let counter = CountingCounter()
        let store = SharedRateLimitStore(counter: counter, maxKeys: 1_000)
        let limiter = RateLimiter(store: store, clock: ManualClock(Date(timeIntervalSince1970: 1_800_000_000)))
        let policy = RateLimitPolicy(name: "api", limit: 60)
        var allowed = 0
        for _ in 0..<500 where try await limiter.check(policy, key: "principal:x").allowed { allowed += 1 }
        #expect(allowed == 60)
        // 60 / 3 per block = 20 reservations; once position 60 is handed out, none more.
        #expect(await counter.calls == 20)
        #expect(SharedRateLimitStore.chunk(for: 10) == 1 && SharedRateLimitStore.chunk(for: 1_000_000) == 1_000)
    }

    @Test("the in-memory limiter stays within its key bound under a spray, and keeps keys close to their limit")
    func memoryBound() async throws {
        let store = MemoryRateLimitStore(maxKeys: 1_600)
        let limiter = RateLimiter(store: store, clock: ManualClock(Date(timeIntervalSince1970: 1_800_000_000)))
        let policy = RateLimitPolicy(name: "auth", limit: 10)
        for _ in 1...9 { _ = try await limiter.check(policy, key: "ip:192.0.2.1") }
        for index in 0..<100_000 {
            _ = try await limiter.check(policy, key: "ip:10.\(index >> 16 & 255).\(index >> 8 & 255).\(index & 255)")
            if index.isMultiple(of: 10_000) { #expect(store.keyCount <= store.maxKeys) }
            // The loop never suspends otherwise: let the rest of the parallel suite run.
            if index.isMultiple(of: 500) { await Task.yield() }
        }
        #expect(store.keyCount <= 1_600)
        // The victim of the spray is still counted: its 10th request is allowed, its 11th is not.
        #expect(try await limiter.check(policy, key: "ip:192.0.2.1").allowed)
        #expect(try await !limiter.check(policy, key: "ip:192.0.2.1").allowed)
    }

    @Test("a key is known to be over its limit only once its next request would be refused, in both stores, without counting")
    func exhaustion() async throws {
        let memory = MemoryRateLimitStore(maxKeys: 1_000)
        let shared = SharedRateLimitStore(counter: CountingCounter(), maxKeys: 1_000)
        for store in [memory, shared] as [any RateLimitStore] {
            #expect(!store.isExhausted(key: "k", window: Self.bucket(60), limit: 3))
            for _ in 1...3 { _ = try await store.record(key: "k", window: Self.bucket(60), limit: 3) }
            // Three used of three: the next is over, whatever other instances do.
            #expect(store.isExhausted(key: "k", window: Self.bucket(60), limit: 3))
            #expect(try await store.record(key: "k", window: Self.bucket(60), limit: 3) == 4)
            #expect(store.isExhausted(key: "k", window: Self.bucket(60), limit: 3))
            #expect(store.isExhausted(key: "k", window: Self.bucket(60), limit: 3), "asking again counts nothing")
            // Once the bucket has left the window the key starts afresh; another key is unaffected.
            #expect(!store.isExhausted(key: "k", window: Self.bucket(130), limit: 3))
            #expect(!store.isExhausted(key: "other", window: Self.bucket(60), limit: 3))
        }
    }
}
