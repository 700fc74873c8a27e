import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ZakOpsCore
import ZakOpsStore

/// This instance's copy of the runtime switches the request path consults (lockdown) and the
/// signing keys' generation, read from the `settings` table every half second, at once when a
/// notification says they changed (PostgreSQL), and by the instance that changes them.
///
/// That is the bound DESIGN.md gives runtime switches: effective on every instance within a
/// second, and at the next request on the instance that flips them.
final class RuntimeState: Service, Sendable {
    /// The notification payload that says a switch changed.
    static let notice = "runtime"

    private struct Snapshot {
        var lockdown = false
        var loaded = false
        /// The ticket of the read applied last: reads run concurrently (the loop, a first
        /// request, a playbook's own refresh), and an older one must not undo a newer one.
        var applied: UInt64 = 0
    }

    let database: Database
    let keys: KeyRingStore
    let hub: EventHub
    let logger: Logger
    let interval: Duration
    private let snapshot = Mutex(Snapshot())
    private let wakes = EventFeed.Wakes()
    private let tickets = Atomic<UInt64>(0)

    init(database: Database, keys: KeyRingStore, hub: EventHub, logger: Logger, interval: Duration = .milliseconds(500)) {
        self.database = database
        self.keys = keys
        self.hub = hub
        self.logger = logger
        self.interval = interval
    }

    /// Whether the lockdown is on, as last read.
    var lockdown: Bool { snapshot.withLock { $0.lockdown } }

    /// Reads the switches if they were never read: an instance starting while the lockdown is
    /// on, or after an auth-breach run, must neither serve a non-admin nor sign with old keys.
    func ensureLoaded() async throws {
        if snapshot.withLock({ $0.loaded }) { return }
        try await refresh()
    }

    /// Whether the lockdown is on, reading first if never read.
    func isLockedDown() async throws -> Bool {
        try await ensureLoaded()
        return lockdown
    }

    /// Reads the switches now and applies what changed: new signing keys for a new generation,
    /// and the closing of every stream but admins' when the lockdown comes on.
    func refresh() async throws {
        let ticket = tickets.add(1, ordering: .relaxed).newValue
        let (on, generation) = try await RuntimeSwitches(database: database).snapshot()
        let lockdown = on.contains(.lockdown)
        let (newest, started) = snapshot.withLock { state -> (Bool, Bool) in
            // A read that began before the one applied last saw an older state: drop it.
            guard ticket > state.applied else { return (false, false) }
            defer { state.lockdown = lockdown; state.loaded = true; state.applied = ticket }
            return (true, lockdown && !state.lockdown)
        }
        guard newest else { return }
        if keys.adopt(generation: generation) {
            logger.notice("security event", metadata: ["event": "signing_keys_rederived", "generation": .stringConvertible(generation)])
        }
        if started {
            let closed = hub.close(reason: "lockdown") { !$0.contains(.adminSystem) }
            logger.warning("security event", metadata: ["event": "lockdown_applied", "streams_closed": .stringConvertible(closed)])
        }
    }

    /// Asks for a read now (a notification arrived).
    func wake() { wakes.wake() }

    func run() async throws {
        // A first read at once, then on every wake and every interval.
        wakes.wake()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [wakes, interval] in
                while !Task.isCancelled {
                    try await Task.sleep(for: interval)
                    wakes.wake()
                }
            }
            try? await cancelWhenGracefulShutdown { [self] in
                for await _ in wakes.stream {
                    do {
                        try await refresh()
                    } catch {
                        logger.warning("runtime switches could not be read", metadata: ["error_type": .string(String(describing: type(of: error)))])
                    }
                }
            }
            wakes.finish()
            group.cancelAll()
        }
    }
}
