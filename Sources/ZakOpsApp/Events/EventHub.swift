import Foundation
import Metrics
import Synchronization
import ZakOpsStore
import ZakOpsCore

/// One event as subscribers receive it.
struct StreamEvent: Sendable, Equatable {
    let sequence: Int64
    let type: String
    let occurredAt: String
    let subjectKind: String
    let subjectID: String
    /// The event's JSON data (one line).
    let data: String
    /// The deal the event concerns, for the `deal_id` filter (the subject for deal events, the
    /// action's deal for action events).
    let dealID: String?

    /// The permission needed to receive it: checked at send time, per subscriber.
    var permission: Permission {
        switch subjectKind {
        case "deal": .dealsRead
        case "action": .actionsRead
        default: .adminSystem
        }
    }
}

/// What a stream connection is sent, in order.
enum StreamItem: Sendable, Equatable {
    case event(StreamEvent)
    case heartbeat
    /// The server asks the client to fall back to polling, then closes (shedding, degraded mode).
    case fallback(reason: String)
}

/// What a subscriber wants to receive.
struct StreamFilter: Sendable, Equatable {
    var dealID: String?
    var types: Set<String>?

    func accepts(_ event: StreamEvent) -> Bool {
        if let types, !types.contains(event.type) { return false }
        if let dealID, event.dealID != dealID { return false }
        return true
    }
}

/// The live side of the event stream on this instance: subscribers with bounded buffers, fed
/// by `EventFeed`. Limits: a number of connections per user (the 6th is refused) and per
/// instance (at the cap the oldest is shed to make room); a subscriber whose buffer is full —
/// a consumer too slow to drain it — is disconnected rather than growing memory.
final class EventHub: Sendable {
    struct Limits: Sendable {
        let perUser: Int
        let perInstance: Int
        let bufferSize: Int
    }

    private struct Subscriber {
        let id: UInt64
        let principalID: String
        var permissions: Set<Permission>
        let filter: StreamFilter
        let openedAt: Date
        let continuation: AsyncStream<StreamItem>.Continuation
    }

    struct Stats: Sendable, Codable, Equatable {
        let connections: Int
        let perUser: [String: Int]
        let oldestAgeSeconds: Double?
        let shedTotal: Int
        let slowDisconnectsTotal: Int
        enum CodingKeys: String, CodingKey {
            case connections
            case perUser = "per_user"
            case oldestAgeSeconds = "oldest_age_seconds"
            case shedTotal = "shed_total"
            case slowDisconnectsTotal = "slow_disconnects_total"
        }
    }

    private struct State {
        private(set) var subscribers: [UInt64: Subscriber] = [:]
        /// Open streams per principal, kept with `subscribers`: the per-user limit is checked
        /// at every subscribe, and counting by scanning was quadratic in the open streams.
        private(set) var perUser: [String: Int] = [:]
        var nextID: UInt64 = 1
        var shed = 0
        var slow = 0

        mutating func add(_ subscriber: Subscriber) {
            subscribers[subscriber.id] = subscriber
            perUser[subscriber.principalID, default: 0] += 1
        }

        mutating func remove(_ id: UInt64) -> Subscriber? {
            guard let subscriber = subscribers.removeValue(forKey: id) else { return nil }
            let left = (perUser[subscriber.principalID] ?? 1) - 1
            perUser[subscriber.principalID] = left > 0 ? left : nil
            return subscriber
        }

        mutating func update(_ id: UInt64, permissions: Set<Permission>) {
            subscribers[id]?.permissions = permissions
        }
    }

    let limits: Limits
    private let state = Mutex(State())

    init(limits: Limits) {
        self.limits = limits
    }

    enum Refusal: Error {
        case tooManyForUser
    }

    /// Registers a subscriber; refuses the user's connection past their limit; at the
    /// instance cap, sheds the oldest connection first.
    func subscribe(principalID: String, permissions: Set<Permission>, filter: StreamFilter, now: Date) throws -> (id: UInt64, stream: AsyncStream<StreamItem>) {
        let (stream, continuation) = AsyncStream.makeStream(of: StreamItem.self, bufferingPolicy: .bufferingOldest(limits.bufferSize))
        let (id, shed) = try state.withLock { state -> (UInt64, Subscriber?) in
            guard state.perUser[principalID, default: 0] < limits.perUser else {
                Counter(label: "zakops_sse_refused_total").increment()
                throw Refusal.tooManyForUser
            }
            var shed: Subscriber?
            if state.subscribers.count >= limits.perInstance, let oldest = state.subscribers.values.min(by: { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }) {
                shed = state.remove(oldest.id)
                state.shed += 1
            }
            let id = state.nextID
            state.nextID += 1
            state.add(Subscriber(id: id, principalID: principalID, permissions: permissions, filter: filter, openedAt: now,
                                 continuation: continuation))
            return (id, shed)
        }
        if let shed {
            Self.countShed(1, reason: "capacity")
            shed.continuation.yield(.fallback(reason: "shed"))
            shed.continuation.finish()
        }
        return (id, stream)
    }

    func unsubscribe(_ id: UInt64) {
        let removed = state.withLock { $0.remove(id) }
        removed?.continuation.finish()
    }

    /// Ends one subscriber's stream, telling it to poll (`reason`): the server is stopping.
    func end(_ id: UInt64, reason: String) {
        guard let removed = state.withLock({ $0.remove(id) }) else { return }
        Self.countShed(1, reason: reason)
        removed.continuation.yield(.fallback(reason: reason))
        removed.continuation.finish()
    }

    /// A subscriber's permissions after its credential was checked again.
    func update(_ id: UInt64, permissions: Set<Permission>) {
        state.withLock { $0.update(id, permissions: permissions) }
    }

    /// Fans events out; a subscriber whose buffer is full is disconnected.
    func publish(_ events: [StreamEvent]) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        var slow: [UInt64] = []
        for subscriber in subscribers {
            for event in events where subscriber.permissions.contains(event.permission) && subscriber.filter.accepts(event) {
                if case .dropped = subscriber.continuation.yield(.event(event)) {
                    slow.append(subscriber.id)
                    break
                }
            }
        }
        if !slow.isEmpty {
            let removed = state.withLock { state in
                state.slow += slow.count
                return slow.compactMap { state.remove($0) }
            }
            for subscriber in removed { subscriber.continuation.finish() }
        }
    }

    func heartbeat() {
        for subscriber in state.withLock({ Array($0.subscribers.values) }) {
            subscriber.continuation.yield(.heartbeat)
        }
    }

    /// Closes the `count` oldest connections (all with nil), each told to fall back to polling.
    @discardableResult
    func shed(count: Int?, reason: String) -> Int {
        let removed = state.withLock { state -> [Subscriber] in
            let oldest = state.subscribers.values.sorted { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }.prefix(count ?? Int.max)
            state.shed += oldest.count
            return oldest.compactMap { state.remove($0.id) }
        }
        Self.countShed(removed.count, reason: reason)
        for subscriber in removed {
            subscriber.continuation.yield(.fallback(reason: reason))
            subscriber.continuation.finish()
        }
        return removed.count
    }

    /// Closes every connection whose permissions `closes` picks (the lockdown closes all but
    /// admins'), each told to fall back to polling; returns how many.
    @discardableResult
    func close(reason: String, where closes: (Set<Permission>) -> Bool) -> Int {
        let removed = state.withLock { state -> [Subscriber] in
            let picked = state.subscribers.values.filter { closes($0.permissions) }
            state.shed += picked.count
            return picked.compactMap { state.remove($0.id) }
        }
        Self.countShed(removed.count, reason: reason)
        for subscriber in removed {
            subscriber.continuation.yield(.fallback(reason: reason))
            subscriber.continuation.finish()
        }
        return removed.count
    }

    /// `zakops_sse_shed_total` by reason (`capacity`, `shed`, `degraded`, `restart`, `lockdown`:
    /// the code's own words, a bounded set).
    private static func countShed(_ count: Int, reason: String) {
        guard count > 0 else { return }
        Counter(label: "zakops_sse_shed_total", dimensions: [("reason", reason)]).increment(by: count)
    }

    func stats(now: Date) -> Stats {
        state.withLock { state in
            let oldest = state.subscribers.values.map(\.openedAt).min()
            return Stats(connections: state.subscribers.count, perUser: state.perUser, oldestAgeSeconds: oldest.map { now.timeIntervalSince($0) },
                         shedTotal: state.shed, slowDisconnectsTotal: state.slow)
        }
    }

    var isEmpty: Bool { state.withLock { $0.subscribers.isEmpty } }
}
