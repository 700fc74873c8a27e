import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
import Synchronization

/// The SQLite connections to one file: one writer (SQLiteNIO, statements on its thread pool,
/// transactions held across awaits) and the rest read-only `SQLiteReadConnection`s, which run
/// on the caller's thread with kept statements. Each is leased to one task at a time.
///
/// SQLite in WAL mode lets readers run beside one writer, and writers serialize on the file
/// lock. Were every connection allowed to write, concurrent writers would wait in SQLite's busy
/// handler, which sleeps and polls: under load (a burst of session touches) throughput fell to
/// a few requests a second. With one writer connection, writers queue here in arrival order
/// instead, and `busy_timeout` only matters for other processes (the `zakops` commands).
/// Waiting for a lease honours task cancellation, so a deadline can abandon the wait.
final class SQLiteConnectionPool: Sendable {
    /// What a lease is for.
    enum Role: Sendable {
        case read, write
    }

    let writer: LeaseQueue<SQLiteConnection>
    let readers: LeaseQueue<SQLiteReadConnection>

    /// Opens the writer and `size - 1` readers (at least one) to `path`, creating the folder
    /// (0700) and file (0600) if needed.
    static func open(path: String, size: Int, busyTimeout: Duration, create: Bool, logger: Logger) async throws -> SQLiteConnectionPool {
        if create {
            try prepareFile(at: path)
        } else if !FileManager.default.fileExists(atPath: path) {
            throw StoreError.unavailable(reason: "the SQLite file does not exist")
        }
        // The writer first: it switches the file to WAL, which the read-only connections need.
        let writer = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
        var readers: [SQLiteReadConnection] = []
        do {
            try await configure(writer, busyTimeout: busyTimeout)
            for _ in 0..<max(1, size - 1) {
                readers.append(try SQLiteReadConnection.open(path: path, busyTimeout: busyTimeout))
            }
        } catch {
            for reader in readers { reader.close() }
            try? await writer.close()
            throw error
        }
        return SQLiteConnectionPool(writer: LeaseQueue([writer]), readers: LeaseQueue(readers))
    }

    private init(writer: LeaseQueue<SQLiteConnection>, readers: LeaseQueue<SQLiteReadConnection>) {
        self.writer = writer
        self.readers = readers
    }

    /// WAL for concurrent readers, foreign keys enforced, and a busy timeout instead of
    /// immediate "database is locked" errors. Constant statements: no value is spliced.
    private static func configure(_ connection: SQLiteConnection, busyTimeout: Duration) async throws {
        let milliseconds = busyTimeout.components.seconds * 1000
        _ = try await connection.query("PRAGMA busy_timeout = \(milliseconds)", [])
        try await switchToWAL(connection)
        _ = try await connection.query("PRAGMA foreign_keys = ON", [])
        _ = try await connection.query("PRAGMA synchronous = NORMAL", [])
    }

    /// Sets WAL mode. On a new file, two processes opening it at once (`zakops migrate` beside
    /// `zakops serve`) race to switch it from the rollback journal: the loser's delete of the
    /// journal finds it gone (SQLITE_IOERR_DELETE_NOENT) or the file busy — or the pragma
    /// answers the mode it could not leave, without an error. A connection left in rollback
    /// mode beside one in WAL mode would not see the other's commits (they sit in the WAL), so
    /// two migration runners could both apply everything: the answer is checked, and the switch
    /// tried again until the connection is in WAL mode.
    private static func switchToWAL(_ connection: SQLiteConnection) async throws {
        var attempt = 0
        while true {
            do {
                // A new file is 0 bytes: it has no header, and a journal mode set on it lives only
                // in the connection that set it until a first page is written; another process
                // (or this pool's own read connections) opening it meanwhile would see a
                // rollback-journal database. So the header is written first (the application id
                // "ZKOP", through the rollback journal: the same races apply), and the switch
                // then records WAL in it for every later connection.
                _ = try await connection.query("PRAGMA application_id = 1514950736", [])
                let mode = try await connection.query("PRAGMA journal_mode = WAL", []).first?.column("journal_mode")?.string
                if mode?.lowercased() == "wal" { return }
                guard attempt < 50 else { throw StoreError.unavailable(reason: "the SQLite file stays in \(mode ?? "an unknown") journal mode") }
            } catch let error as SQLiteError where [.ioErrorFailedDeleteNonexistent, .busy].contains(error.reason) && attempt < 50 {}
            attempt += 1
            try await Task.sleep(for: .milliseconds(10 * min(attempt, 10)))
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
        // O_EXCL, not FileManager.createFile: that one writes a temporary file and renames it
        // over the path, so a second process creating the file at the same moment would replace
        // the file the first has already opened (SQLite then answers SQLITE_READONLY_DBMOVED).
        let descriptor = Glibc.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if descriptor >= 0 {
            Glibc.close(descriptor)
        } else if errno != EEXIST {
            throw StoreError.unavailable(reason: "cannot create the SQLite file")
        }
    }

    /// Closes every connection (a leased one once its work returns it); waiting and later
    /// leases fail.
    func close() async {
        readers.close { $0.close() }
        writer.close { connection in Task { try? await connection.close() } }
    }
}
