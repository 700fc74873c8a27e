import Foundation
import Logging
import ServiceLifecycle
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Reads new events from the durable log by sequence and fans them out to this instance's
/// subscribers; sends the heartbeats; sheds every connection when degraded mode is switched
/// on. It reads when woken (`Wakes`): by a commit in this process, by another instance's commit
/// announced over PostgreSQL's LISTEN/NOTIFY (`NotificationListener`), and by a timer every
/// `SSE_POLL_INTERVAL_MS`, which alone carries other instances' events while the listener is
/// down, and on SQLite. Reading by sequence works alike on one instance and on many, and nothing
/// is skipped: numbers are handed out in commit order.
struct EventFeed: Service {
    /// The payload of the notification a transaction that appended events sends.
    static let notice = "events"

    /// Coalesced wake-ups: one pending at most, however many commits asked for one.
    final class Wakes: Sendable {
        let stream: AsyncStream<Void>
        private let continuation: AsyncStream<Void>.Continuation

        init() {
            (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        }

        func wake() { continuation.yield() }
        func finish() { continuation.finish() }
    }

    let database: Database
    let hub: EventHub
    let wakes: Wakes
    let logger: Logger
    let pollInterval: Duration
    let heartbeatInterval: Duration

    func run() async throws {
        database.observeCommits { [wakes] in wakes.wake() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { [wakes] in
                while !Task.isCancelled {
                    try await Task.sleep(for: pollInterval)
                    wakes.wake()
                }
            }
            try? await cancelWhenGracefulShutdown { try await deliver(wakes.stream) }
            wakes.finish()
            group.cancelAll()
        }
        hub.shed(count: nil, reason: "restart")
    }

    private func deliver(_ wakes: AsyncStream<Void>) async throws {
        var last = (try? await Self.latestSequence(in: database)) ?? 0
        let clock = ContinuousClock()
        var nextHeartbeat = clock.now + heartbeatInterval
        var nextSwitchCheck = clock.now
        for await _ in wakes {
            if Task.isCancelled || Task.isShuttingDownGracefully { return }
            do {
                // Everything after the last number seen, in order: nothing committed is skipped.
                var events = try await Self.events(after: last, limit: 1_000, in: database)
                while !events.isEmpty {
                    last = events[events.count - 1].sequence
                    hub.publish(events)
                    events = events.count == 1_000 ? try await Self.events(after: last, limit: 1_000, in: database) : []
                }
                if clock.now >= nextSwitchCheck {
                    nextSwitchCheck = clock.now + .seconds(1)
                    if try await RuntimeSwitches(database: database).isOn(.sseDegraded), !hub.isEmpty {
                        let shed = hub.shed(count: nil, reason: "degraded")
                        logger.notice("degraded mode: streams sent to polling", metadata: ["connections": .stringConvertible(shed)])
                    }
                }
            } catch {
                logger.warning("event feed read failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
            }
            if clock.now >= nextHeartbeat {
                nextHeartbeat = clock.now + heartbeatInterval
                hub.heartbeat()
            }
        }
    }

    static func latestSequence(in database: Database) async throws -> Int64 {
        try await database.read { sql in try await EventLog.latestSequence(in: sql) }
    }

    /// Events after a sequence number, oldest first.
    static func events(after sequence: Int64, limit: Int, in database: Database) async throws -> [StreamEvent] {
        try await database.read { sql in try await EventLog.events(after: sequence, limit: limit, in: sql) }
    }
}
