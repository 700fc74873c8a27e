import SQLKit

/// Consistent snapshots for backups, while the server goes on writing.
extension Database {
    /// SQLite: writes a consistent copy of the database to `path` (`VACUUM INTO`: a read
    /// transaction on the source, so writers in other processes go on under WAL).
    public func snapshotSQLite(to path: String) async throws {
        guard dialect == .sqlite else { throw StoreError.invalidMigration("snapshotSQLite needs SQLite") }
        // Statement text, not data: the path is bound.
        try await autocommit { sql in try await sql.raw("VACUUM INTO \(bind: path)").run() }
    }

    /// PostgreSQL: runs `body` inside a read-only REPEATABLE READ transaction whose snapshot is
    /// exported (`pg_export_snapshot()`), with the snapshot's id: `pg_dump --snapshot=ID` then
    /// dumps exactly what `body`'s queries see. The transaction lasts as long as `body`.
    public func withExportedSnapshot<T: Sendable>(_ body: @escaping @Sendable (String, any SQLDatabase) async throws -> T) async throws -> T {
        guard dialect == .postgres else { throw StoreError.invalidMigration("withExportedSnapshot needs PostgreSQL") }
        return try await withConnection(role: .write) { connection in
            try await connection.inTransaction {
                let sql = connection.sql
                // Transaction control, the first statement of the transaction.
                try await sql.raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").run()
                guard let id = try await sql.select().column(SQLFunction("pg_export_snapshot"), as: "id").first()?.decode(column: "id", as: String.self)
                else { throw StoreError.unavailable(reason: "no snapshot id") }
                return try await body(id, sql)
            }
        }
    }
}
