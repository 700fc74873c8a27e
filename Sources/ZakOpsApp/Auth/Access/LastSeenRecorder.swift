import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import ZakOpsCore
import ZakOpsStore

/// Writes sessions' last-seen and API keys' last-used times off the request path.
///
/// A request whose session was last seen over a minute ago (the idle timeout counts from it)
/// notes it here and goes on; this service writes what was noted every `interval` (1 s), in
/// one transaction, and once more when the server stops. A request never waits for SQLite's
/// one writer connection because of a read. Losing the last second's notes in a crash costs at
/// most a minute of idle time, never a session.
final class LastSeenRecorder: Service, Sendable {
    private struct Pending {
        var sessions: [String: Date] = [:]
        var keys: [String: Date] = [:]
        var isEmpty: Bool { sessions.isEmpty && keys.isEmpty }
    }

    /// Times are written at most this often per credential.
    static let interval: TimeInterval = 60

    private let pending = Mutex(Pending())
    private let database: Database
    private let logger: Logger
    private let flushInterval: Duration

    init(database: Database, logger: Logger, flushInterval: Duration = .seconds(1)) {
        self.database = database
        self.logger = logger
        self.flushInterval = flushInterval
    }

    /// Notes that the session with this token hash was used at `now`.
    func sessionSeen(tokenHash: String, at now: Date) {
        pending.withLock { $0.sessions[tokenHash] = now }
    }

    /// Notes that the API key with this hash was used at `now`.
    func keyUsed(keyHash: String, at now: Date) {
        pending.withLock { $0.keys[keyHash] = now }
    }

    /// Forgets a use noted for this session token or key hash that is not written yet: the
    /// request that used it was refused after authentication (the lockdown), and a refused
    /// request must neither keep a session from its idle timeout nor count as a key's use.
    func withdraw(credentialHash: String) {
        pending.withLock {
            $0.sessions[credentialHash] = nil
            $0.keys[credentialHash] = nil
        }
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.flushInterval) }
            } catch {
                break
            }
            await flush()
        }
        await flush()
    }

    /// Writes what was noted. Each write only moves a time forward past the interval, so two
    /// instances noting one session write it once.
    func flush() async {
        let batch = pending.withLock { pending -> Pending in
            defer { pending = Pending() }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await database.transaction { sql in
                for (hash, seen) in batch.sessions {
                    try await SessionRepository.touch(tokenHash: hash, now: seen, staleBefore: seen.addingTimeInterval(-Self.interval), in: sql)
                }
                for (hash, used) in batch.keys {
                    try await APIKeyRepository.touch(keyHash: hash, now: Timestamp.string(from: used),
                                                     staleBefore: Timestamp.string(from: used.addingTimeInterval(-Self.interval)), in: sql)
                }
            }
        } catch {
            // Put the notes back (newer notes win) for the next flush.
            pending.withLock { pending in
                pending.sessions.merge(batch.sessions) { newer, _ in newer }
                pending.keys.merge(batch.keys) { newer, _ in newer }
            }
            logger.warning("last-seen write failed", metadata: ["error_type": .string(String(describing: type(of: error)))])
        }
    }
}
