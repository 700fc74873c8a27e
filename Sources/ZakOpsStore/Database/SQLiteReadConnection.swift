import Foundation
import NIOCore
import SQLiteNIO
import VaporCSQLite

/// A read-only SQLite connection that runs its statements on the caller's thread, each prepared
/// once and kept (`SQLiteReaders`).
///
/// SQLiteNIO runs every statement on a thread pool and prepares it anew each time: for a
/// primary-key read that was two thread wake-ups and a parse, several times SQLite's own work
/// (docs/decisions.md, issue 12). In WAL mode a reader never waits for the writer, so running
/// inline costs the calling thread only the statement itself. This is SQLiteNIO's own copy of
/// the SQLite library (the `sqlite_nio_` symbols): two copies in one process would break
/// SQLite's file locks.
///
/// Not thread-safe by itself: the pool leases a connection to one task at a time, so it is used
/// by one thread at a time (the library is built in multi-thread mode).
final class SQLiteReadConnection: @unchecked Sendable {
    /// A prepared statement and its column names.
    private struct Prepared {
        let handle: OpaquePointer
        let columns: SQLiteReadRow.Columns
    }

    /// Statements kept per connection; past this the cache starts over (ad-hoc shapes cannot
    /// grow it without bound).
    static let cacheLimit = 128

    private var db: OpaquePointer?
    private var statements: [String: Prepared] = [:]

    private init(db: OpaquePointer) {
        self.db = db
    }

    /// Opens `path` read-only, with the busy timeout for the rare waits a reader has (WAL
    /// recovery after a crash).
    static func open(path: String, busyTimeout: Duration) throws -> SQLiteReadConnection {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        let status = sqlite_nio_sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite_nio_sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite_nio_sqlite3_close(db) }
            throw SQLiteReadError(code: status, message: message)
        }
        let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite_nio_sqlite3_busy_timeout(db, Int32(clamping: milliseconds))
        // As on the writer, so that a connection reports the same settings whichever it is.
        let connection = SQLiteReadConnection(db: db)
        try connection.query("PRAGMA foreign_keys = ON", []) { _ in }
        return connection
    }

    /// Runs `sql` with `binds`, calling `onRow` for each row.
    func query(_ sql: String, _ binds: [SQLiteData], _ onRow: (SQLiteReadRow) throws -> Void) throws {
        guard let db else { throw SQLiteReadError(code: SQLITE_MISUSE, message: "connection closed") }
        let prepared = try statement(sql, db: db)
        let handle = prepared.handle
        defer {
            sqlite_nio_sqlite3_reset(handle)
            sqlite_nio_sqlite3_clear_bindings(handle)
        }
        for (index, value) in binds.enumerated() {
            try check(bind(value, at: Int32(index + 1), to: handle), db: db)
        }
        let count = Int32(prepared.columns.names.count)
        while true {
            let status = sqlite_nio_sqlite3_step(handle)
            if status == SQLITE_DONE { return }
            guard status == SQLITE_ROW else { throw SQLiteReadError(code: status, message: String(cString: sqlite_nio_sqlite3_errmsg(db))) }
            var values: [SQLiteData] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count { values.append(value(at: column, of: handle)) }
            try onRow(SQLiteReadRow(columns: prepared.columns, values: values))
        }
    }

    /// Finalizes every statement and closes the connection.
    func close() {
        for prepared in statements.values { sqlite_nio_sqlite3_finalize(prepared.handle) }
        statements.removeAll()
        if let db { sqlite_nio_sqlite3_close(db) }
        db = nil
    }

    private func statement(_ sql: String, db: OpaquePointer) throws -> Prepared {
        if let prepared = statements[sql] { return prepared }
        if statements.count >= Self.cacheLimit {
            for prepared in statements.values { sqlite_nio_sqlite3_finalize(prepared.handle) }
            statements.removeAll()
        }
        var handle: OpaquePointer?
        let status = sqlite_nio_sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard status == SQLITE_OK, let handle else {
            throw SQLiteReadError(code: status, message: String(cString: sqlite_nio_sqlite3_errmsg(db)))
        }
        let count = sqlite_nio_sqlite3_column_count(handle)
        let names = (0..<count).map { sqlite_nio_sqlite3_column_name(handle, $0).map { String(cString: $0) } ?? "" }
        let prepared = Prepared(handle: handle, columns: SQLiteReadRow.Columns(names: names))
        statements[sql] = prepared
        return prepared
    }

    private func bind(_ value: SQLiteData, at index: Int32, to handle: OpaquePointer) -> Int32 {
        switch value {
        case .integer(let integer): sqlite_nio_sqlite3_bind_int64(handle, index, Int64(integer))
        case .float(let double): sqlite_nio_sqlite3_bind_double(handle, index, double)
        case .text(let text): sqlite_nio_sqlite3_bind_text64(handle, index, text, UInt64(text.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
        case .blob(let blob):
            blob.withUnsafeReadableBytes { sqlite_nio_sqlite3_bind_blob64(handle, index, $0.baseAddress, UInt64($0.count), Self.transient) }
        case .null: sqlite_nio_sqlite3_bind_null(handle, index)
        }
    }

    private func value(at column: Int32, of handle: OpaquePointer) -> SQLiteData {
        switch sqlite_nio_sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER:
            return .integer(SQLiteInt64(sqlite_nio_sqlite3_column_int64(handle, column)))
        case SQLITE_FLOAT:
            return .float(sqlite_nio_sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            guard let text = sqlite_nio_sqlite3_column_text(handle, column) else { return .null }
            let length = Int(sqlite_nio_sqlite3_column_bytes(handle, column))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: length), as: UTF8.self))
        case SQLITE_BLOB:
            let length = Int(sqlite_nio_sqlite3_column_bytes(handle, column))
            var buffer = ByteBufferAllocator().buffer(capacity: length)
            if let bytes = sqlite_nio_sqlite3_column_blob(handle, column) {
                buffer.writeBytes(UnsafeRawBufferPointer(start: bytes, count: length))
            }
            return .blob(buffer)
        default:
            return .null
        }
    }

    private func check(_ status: Int32, db: OpaquePointer) throws {
        guard status == SQLITE_OK else { throw SQLiteReadError(code: status, message: String(cString: sqlite_nio_sqlite3_errmsg(db))) }
    }

    /// SQLite copies bound text and blobs (`SQLITE_TRANSIENT`).
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// A failure of a read statement, with SQLite's result code.
struct SQLiteReadError: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    /// The file is busy, locked, unreadable or gone: 503, as for the writer's SQLiteNIO errors.
    var isUnavailable: Bool {
        [SQLITE_BUSY, SQLITE_LOCKED, SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_NOTADB, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_PERM]
            .contains(code & 0xff)
    }

    var description: String { "SQLite error \(code): \(message)" }
}
