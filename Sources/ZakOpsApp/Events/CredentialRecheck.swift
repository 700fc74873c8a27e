import Foundation
import Synchronization
import ZakOpsCore
import ZakOpsHTTP

/// The heartbeat's credential checks, one per credential instead of one per stream.
///
/// Every stream checks its session or API key again at each heartbeat, and the heartbeat
/// reaches every stream at once: 10,000 streams made 10,000 queries in the same instant, each
/// waiting for a connection with its frames allocated. Streams of one credential (a user's tabs,
/// an agent's consumers) now share one check: the first starts it, the others await its
/// result. A result is reused for `reuse` (1 s) after it started, far below the heartbeat
/// interval, so a revoked credential still ends its streams at the next heartbeat.
final class CredentialRecheck: Sendable {
    private struct Check {
        let task: Task<Principal?, any Error>
        let started: ContinuousClock.Instant
    }

    private struct State {
        var checks: [String: Check] = [:]
        var lastPrune = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let reuse: Duration

    init(reuse: Duration = .seconds(1)) {
        self.reuse = reuse
    }

    /// The principal behind `key` (a hash of the credential), from a check started within
    /// `reuse`, or from a new one running `check`.
    func principal(for key: String, _ check: @escaping @Sendable () async throws -> Principal?) async throws -> Principal? {
        let now = ContinuousClock.now
        let task = state.withLock { state -> Task<Principal?, any Error> in
            if let current = state.checks[key], now - current.started < reuse { return current.task }
            // Checks older than the reuse window are dropped at most once per window (not at
            // every new credential: a heartbeat over 10,000 credentials would copy the table
            // 10,000 times), so the table holds the credentials of the last two windows.
            if now - state.lastPrune >= reuse {
                state.checks = state.checks.filter { now - $0.value.started < reuse }
                state.lastPrune = now
            }
            // A task of its own: its frames are freed when it finishes, not kept by the stream.
            let task = Task { try await check() }
            state.checks[key] = Check(task: task, started: now)
            return task
        }
        return try await task.value
    }

    /// How many checks are remembered (for tests).
    var count: Int { state.withLock { $0.checks.count } }
}
