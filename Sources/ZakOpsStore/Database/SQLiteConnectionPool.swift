import Foundation
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization

/// A fixed set of SQLite connections to one file, each leased to one task at a time: one
/// writer connection and the rest for reads.
///
/// SQLite in WAL mode lets readers run beside one writer, and writers serialize on the file
/// lock. Were every connection allowed to write, concurrent writers would wait in SQLite's busy
/// handler, which sleeps and polls: under load (a burst of session touches) throughput fell to
/// a few requests a second. With one writer connection, writers queue here in arrival order
/// instead, and `busy_timeout` only matters for other processes (the `zakops` commands).
/// Waiting for a lease honours task cancellation, so a deadline can abandon the wait.
///
/// The state is behind a lock, not in an actor: a lease and its return are a few instructions
/// on the caller's thread, where an actor cost two hops to its executor per query.
final class SQLiteConnectionPool: Sendable {
    /// What a lease is for.
    enum Role: Sendable {
        case read, write
    }

    private struct Waiter {
        let id: UInt64
        let role: Role
        let continuation: CheckedContinuation<SQLiteConnection, any Error>
    }

    private struct State {
        var idle: [Role: [SQLiteConnection]]
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
    }

    private let state: Mutex<State>
    private let all: [SQLiteConnection]

    /// Opens `size` connections to `path`, creating the folder (0700) and file (0600) if needed.
    static func open(path: String, size: Int, busyTimeout: Duration, create: Bool, logger: Logger) async throws -> SQLiteConnectionPool {
        if create {
            try prepareFile(at: path)
        } else if !FileManager.default.fileExists(atPath: path) {
            throw StoreError.unavailable(reason: "the SQLite file does not exist")
        }
        var connections: [SQLiteConnection] = []
        do {
            for _ in 0..<max(2, size) {
                let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
                connections.append(connection)
                try await configure(connection, busyTimeout: busyTimeout)
            }
        } catch {
            for connection in connections { try? await connection.close() }
            throw error
        }
        return SQLiteConnectionPool(connections: connections)
    }

    private init(connections: [SQLiteConnection]) {
        state = Mutex(State(idle: [.write: [connections[0]], .read: Array(connections.dropFirst())]))
        all = connections
    }

    /// WAL for concurrent readers, foreign keys enforced, and a busy timeout instead of
    /// immediate "database is locked" errors. Constant statements: no value is spliced.
    private static func configure(_ connection: SQLiteConnection, busyTimeout: Duration) async throws {
        let milliseconds = busyTimeout.components.seconds * 1000
        try await switchToWAL(connection)
        _ = try await connection.query("PRAGMA foreign_keys = ON", [])
        _ = try await connection.query("PRAGMA synchronous = NORMAL", [])
        _ = try await connection.query("PRAGMA busy_timeout = \(milliseconds)", [])
    }

    /// Sets WAL mode. On a new file, two processes opening it at once (`zakops migrate` beside
    /// `zakops serve`) race to switch it from the rollback journal: the loser's delete of the
    /// journal finds it gone (SQLITE_IOERR_DELETE_NOENT) or the file busy. The switch is
    /// idempotent, so it is tried again.
    private static func switchToWAL(_ connection: SQLiteConnection) async throws {
        var attempt = 0
        while true {
            do {
                _ = try await connection.query("PRAGMA journal_mode = WAL", [])
                return
            } catch let error as SQLiteError where [.ioErrorFailedDeleteNonexistent, .busy].contains(error.reason) && attempt < 20 {
                attempt += 1
                try await Task.sleep(for: .milliseconds(10 * attempt))
            }
        }
    }

    /// Creates the database folder with mode 0700 and the file with mode 0600, so other local
    /// users can read neither the data nor the WAL (SQLite gives -wal/-shm the file's mode).
    private static func prepareFile(at path: String) throws {
        let manager = FileManager.default
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty, !manager.fileExists(atPath: folder) {
            try manager.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        if !manager.fileExists(atPath: path) {
            guard manager.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw StoreError.unavailable(reason: "cannot create the SQLite file")
            }
        }
    }

    /// Runs `work` with a leased connection of the role and returns it to the pool afterwards.
    func withConnection<T: Sendable>(role: Role, _ work: @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        try await use(try await lease(role), role: role, work)
    }

    /// Runs `work` at once if a connection of the role is idle, or returns nil without running
    /// it. The common case then needs no deadline (a timer task per query was a visible cost).
    func withIdleConnection<T: Sendable>(role: Role, _ work: @Sendable (SQLiteConnection) async throws -> T) async throws -> T? {
        let connection = state.withLock { state -> SQLiteConnection? in
            state.closed ? nil : state.idle[role]?.popLast()
        }
        guard let connection else { return nil }
        return try await use(connection, role: role, work)
    }

    /// Runs `work` with a leased connection and returns the connection to the pool, whatever
    /// `work` does.
    private func use<T: Sendable>(_ connection: SQLiteConnection, role: Role, _ work: @Sendable (SQLiteConnection) async throws -> T) async throws -> T {
        do {
            let result = try await work(connection)
            release(connection, role: role)
            return result
        } catch {
            release(connection, role: role)
            throw error
        }
    }

    private func lease(_ role: Role) async throws -> SQLiteConnection {
        enum Step {
            case leased(SQLiteConnection)
            case closed
            case wait(UInt64)
        }
        let step = state.withLock { state -> Step in
            if state.closed { return .closed }
            if let connection = state.idle[role]?.popLast() { return .leased(connection) }
            state.nextWaiterID += 1
            return .wait(state.nextWaiterID)
        }
        switch step {
        case .leased(let connection): return connection
        case .closed: throw StoreError.unavailable(reason: "pool closed")
        case .wait(let id):
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    // A connection may have come back, or the task been cancelled, meanwhile.
                    let now = state.withLock { state -> Result<SQLiteConnection, any Error>? in
                        if state.closed { return .failure(StoreError.unavailable(reason: "pool closed")) }
                        if Task.isCancelled { return .failure(CancellationError()) }
                        if let connection = state.idle[role]?.popLast() { return .success(connection) }
                        state.waiters.append(Waiter(id: id, role: role, continuation: continuation))
                        return nil
                    }
                    if let now { continuation.resume(with: now) }
                }
            } onCancel: {
                let waiter = state.withLock { state -> Waiter? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index)
                }
                waiter?.continuation.resume(throwing: CancellationError())
            }
        }
    }

    private func release(_ connection: SQLiteConnection, role: Role) {
        let waiter = state.withLock { state -> Waiter? in
            if let index = state.waiters.firstIndex(where: { $0.role == role }) { return state.waiters.remove(at: index) }
            state.idle[role, default: []].append(connection)
            return nil
        }
        waiter?.continuation.resume(returning: connection)
    }

    /// Closes every connection; waiting and later leases fail.
    func close() async {
        let waiters = state.withLock { state -> [Waiter] in
            state.closed = true
            state.idle.removeAll()
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(throwing: StoreError.unavailable(reason: "pool closed")) }
        for connection in all { try? await connection.close() }
    }
}
