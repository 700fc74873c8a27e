import Synchronization
import ZakOpsCore

/// What a session cookie or an API key stood for when it was last looked up, kept in memory
/// for at most `AUTH_CACHE_SECONDS` (docs/decisions.md, "Credentials answered from memory").
///
/// - A lookup is shared: requests and SSE heartbeats presenting one credential at once wait for
///   one query (10,000 streams of one agent make one check per heartbeat), whatever the TTL.
/// - A found credential is then answered from memory until its entry is `ttl` old. Expiry and
///   idle limits are still checked against the clock on every request by the caller.
/// - Refusals are never kept (a made-up cookie cannot fill the table; the refusal limit stops
///   a flood of them before it reaches the database).
/// - At most `maxEntries` entries, lookups in flight included: when the table is full even
///   after dropping expired entries, a lookup runs unshared and is not kept.
/// - `invalidate` drops entries at once, and every lookup in flight with them: a lookup that
///   started before the revocation committed may have read the old state, so neither a later
///   request nor the table gets its answer. A revocation is effective here at the next request.
///
/// Time is the monotonic clock, not the app clock: the bound is real time.
final class CredentialCache: Sendable {
    /// What a credential stood for, and whose it is (`subject`: operator or service account id).
    struct Found: Sendable {
        let value: Value
        let subject: String
    }

    enum Value: Sendable {
        case session(SessionRecord, OperatorRecord)
        /// `expiresAt`: when the key stops working (checked on every request, cached or not).
        case key(Principal, lastUsedAt: String?, expiresAt: String)
    }

    private struct Entry {
        var found: Found?
        var task: Task<Found?, any Error>?
        let started: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var generation: UInt64 = 0
        var lastPrune = ContinuousClock.now
    }

    private let state = Mutex(State())
    let ttl: Duration
    let maxEntries: Int

    init(ttl: Duration, maxEntries: Int) {
        self.ttl = ttl
        self.maxEntries = max(1, maxEntries)
    }

    /// The credential `key` (a hash, prefixed by its kind) from memory, or from `load`.
    func value(for key: String, load: @escaping @Sendable () async throws -> Found?) async throws -> Found? {
        let now = ContinuousClock.now
        enum Step {
            case hit(Found)
            case wait(Task<Found?, any Error>)
            case uncached
        }
        let (step, generation): (Step, UInt64) = state.withLock { state in
            if let entry = state.entries[key] {
                if let task = entry.task { return (.wait(task), state.generation) }
                if let found = entry.found, now - entry.started < ttl { return (.hit(found), state.generation) }
                state.entries[key] = nil
            }
            // Expired entries are dropped once per TTL, or sooner when the table is full — but
            // at most every 100 ms: a full table must not cost a scan for every request.
            let sincePrune = now - state.lastPrune
            if sincePrune >= max(ttl, .milliseconds(100)) || (state.entries.count >= maxEntries && sincePrune >= .milliseconds(100)) {
                let ttl = self.ttl
                state.entries = state.entries.filter { $0.value.task != nil || now - $0.value.started < ttl }
                state.lastPrune = now
            }
            guard state.entries.count < maxEntries else { return (.uncached, state.generation) }
            let task = Task { try await load() }
            state.entries[key] = Entry(found: nil, task: task, started: now)
            return (.wait(task), state.generation)
        }
        switch step {
        case .hit(let found):
            return found
        case .uncached:
            return try await load()
        case .wait(let task):
            let found: Found?
            do {
                found = try await task.value
            } catch {
                settle(key, task: task, found: nil, generation: generation)
                throw error
            }
            settle(key, task: task, found: found, generation: generation)
            return found
        }
    }

    /// Records the finished lookup: kept if it found the credential, the cache is on, and no
    /// invalidation happened since it started; dropped otherwise.
    private func settle(_ key: String, task: Task<Found?, any Error>, found: Found?, generation: UInt64) {
        state.withLock { state in
            guard let entry = state.entries[key], entry.task == task else { return }
            if let found, ttl > .zero, state.generation == generation {
                state.entries[key] = Entry(found: found, task: nil, started: entry.started)
            } else {
                state.entries[key] = nil
            }
        }
    }

    /// Moves the kept entry's last-seen (session) or last-used (key) time to `stamp`, if the
    /// entry is kept. Only that field changes, on the entry's own value: a request holding an
    /// older copy must not write it back over a fresher one loaded after an invalidation.
    func touch(_ key: String, at stamp: String) {
        state.withLock { state in
            guard var entry = state.entries[key], let found = entry.found else { return }
            switch found.value {
            case .session(let session, let account):
                entry.found = Found(value: .session(session.seen(at: stamp), account), subject: found.subject)
            case .key(let principal, _, let expiresAt):
                entry.found = Found(value: .key(principal, lastUsedAt: stamp, expiresAt: expiresAt), subject: found.subject)
            }
            state.entries[key] = entry
        }
    }

    /// Forgets one credential (a logout).
    func invalidate(key: String) {
        state.withLock { state in
            state.generation &+= 1
            state.entries = state.entries.filter { $0.key != key && $0.value.task == nil }
        }
    }

    /// Forgets every credential of an operator or service account (disabled, password changed,
    /// sessions or keys revoked).
    func invalidate(subject: String) {
        state.withLock { state in
            state.generation &+= 1
            state.entries = state.entries.filter { $0.value.found.map { $0.subject != subject } ?? false }
        }
    }

    /// Forgets everything (a notice from another instance that names no subject).
    func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
        }
    }

    /// How many entries are held, lookups in flight included (for tests).
    var count: Int { state.withLock { $0.entries.count } }

    /// The cache key of a session token's hash and of an API key's hash.
    static func sessionKey(_ tokenHash: String) -> String { "s:" + tokenHash }
    static func apiKey(_ keyHash: String) -> String { "k:" + keyHash }
}
