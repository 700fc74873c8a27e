import Logging
import PostgresNIO
import SQLKit
import ZakOpsCore

/// Applies and inspects migrations. Migration SQL is the one place raw SQL text is executed;
/// every value (version, checksum, time) is still bound.
public struct MigrationRunner: Sendable {
    public struct AppliedMigration: Sendable, Equatable {
        public let version: String
        public let checksum: String
        public let appliedAt: String
    }

    /// One row of `zakops migrate --status`.
    public struct StatusLine: Sendable, Equatable {
        public enum State: String, Sendable { case applied, pending, changed, unknown }
        public let version: String
        public let state: State
        public let appliedAt: String?
    }

    let database: Database
    let migrations: [Migration]
    let logger: Logger

    /// A runner for the migrations this binary carries for the database's dialect.
    public init(database: Database, logger: Logger) throws {
        try self.init(database: database, migrations: MigrationCatalog.migrations(for: database.dialect), logger: logger)
    }

    /// A runner for an explicit list (tests use it to simulate an edited migration).
    public init(database: Database, migrations: [Migration], logger: Logger) throws {
        self.database = database
        self.migrations = migrations
        self.logger = logger
    }

    /// Compares what is applied with what this binary carries.
    public func state() async throws -> MigrationState {
        let applied = try await appliedMigrations()
        return Self.compare(known: migrations, applied: applied)
    }

    static func compare(known: [Migration], applied: [AppliedMigration]) -> MigrationState {
        let appliedByVersion = Dictionary(uniqueKeysWithValues: applied.map { ($0.version, $0) })
        let knownVersions = Set(known.map(\.version))
        return MigrationState(
            pending: known.filter { appliedByVersion[$0.version] == nil }.map(\.version),
            changed: known.filter { migration in
                appliedByVersion[migration.version].map { $0.checksum != migration.checksum } ?? false
            }.map(\.version),
            unknown: applied.map(\.version).filter { !knownVersions.contains($0) }
        )
    }

    /// Every migration and whether it is applied, pending, changed or unknown.
    public func status() async throws -> [StatusLine] {
        let applied = try await appliedMigrations()
        let appliedByVersion = Dictionary(uniqueKeysWithValues: applied.map { ($0.version, $0) })
        var lines = migrations.map { migration -> StatusLine in
            guard let row = appliedByVersion[migration.version] else {
                return StatusLine(version: migration.version, state: .pending, appliedAt: nil)
            }
            return StatusLine(version: migration.version, state: row.checksum == migration.checksum ? .applied : .changed, appliedAt: row.appliedAt)
        }
        let known = Set(migrations.map(\.version))
        lines += applied.filter { !known.contains($0.version) }.map { StatusLine(version: $0.version, state: .unknown, appliedAt: $0.appliedAt) }
        return lines
    }

    /// Applies every pending migration, each in its own transaction, and returns their versions.
    /// Refuses (changing nothing) when an applied migration's checksum differs from this binary's.
    ///
    /// Only the wait for a connection is bounded; the migrations themselves may take as long as
    /// they need. Two runners at once apply each version once: PostgreSQL serializes them with an
    /// advisory lock, and on both dialects each migration re-checks the ledger inside its own
    /// transaction (SQLite's `BEGIN IMMEDIATE` holds the file's write lock).
    @discardableResult
    public func migrate() async throws -> [String] {
        let migrations = self.migrations
        let logger = self.logger
        return try await database.withConnection(role: .write) { connection in
            try await Self.withLock(connection) {
                try await Self.createLedger(connection)
                let state = Self.compare(known: migrations, applied: try await Self.readLedger(connection.sql))
                guard state.changed.isEmpty, state.unknown.isEmpty else {
                    throw StoreError.schemaMismatch(state.summary)
                }
                var done: [String] = []
                for migration in migrations where state.pending.contains(migration.version) {
                    let applied = try await connection.inTransaction {
                        try await Self.apply(migration, on: connection)
                    }
                    if applied {
                        logger.info("migration applied", metadata: ["version": .string(migration.version)])
                        done.append(migration.version)
                    }
                }
                return done
            }
        }
    }

    /// The ledger's rows; none when it does not exist yet. Reads only, so readiness probes
    /// never write.
    private func appliedMigrations() async throws -> [AppliedMigration] {
        try await database.read { sql in
            guard try await Self.ledgerExists(sql) else { return [] }
            return try await Self.readLedger(sql)
        }
    }

    private static func ledgerExists(_ sql: any SQLDatabase) async throws -> Bool {
        let query: SQLSelectBuilder
        switch sql.dialect.name {
        case "sqlite":
            query = sql.select().column("name").from("sqlite_master")
                .where("type", .equal, SQLBind("table"))
                .where("name", .equal, SQLBind("schema_migrations"))
        default:
            query = sql.select().column("table_name").from(SQLQualifiedTable("tables", space: "information_schema"))
                .where("table_schema", .equal, SQLFunction("current_schema"))
                .where("table_name", .equal, SQLBind("schema_migrations"))
        }
        return try await query.first() != nil
    }

    private static func createLedger(_ connection: LeasedConnection) async throws {
        try await connection.sql.execute(sql: SQLRaw("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version TEXT PRIMARY KEY,
                checksum TEXT NOT NULL,
                applied_at TEXT NOT NULL
            )
            """)) { _ in }
    }

    private static func readLedger(_ sql: any SQLDatabase) async throws -> [AppliedMigration] {
        try await sql.select()
            .columns("version", "checksum", "applied_at")
            .from("schema_migrations")
            .orderBy("version")
            .all()
            .map { row in
                AppliedMigration(
                    version: try row.decode(column: "version", as: String.self),
                    checksum: try row.decode(column: "checksum", as: String.self),
                    appliedAt: try row.decode(column: "applied_at", as: String.self)
                )
            }
    }

    /// Applies one migration inside the caller's transaction; false if another runner already did.
    private static func apply(_ migration: Migration, on connection: LeasedConnection) async throws -> Bool {
        let sql = connection.sql
        let recorded = try await sql.select().column("version").from("schema_migrations")
            .where("version", .equal, SQLBind(migration.version))
            .first()
        guard recorded == nil else { return false }
        for statement in migration.statements {
            try await sql.execute(sql: SQLRaw(statement)) { _ in }
        }
        try await sql.insert(into: "schema_migrations")
            .columns("version", "checksum", "applied_at")
            .values(SQLBind(migration.version), SQLBind(migration.checksum), SQLBind(Timestamp.now()))
            .run()
        return true
    }

    /// On PostgreSQL: no statement or lock timeout for this session (a migration may rewrite a
    /// large table), and a session advisory lock so instances starting together migrate once.
    private static func withLock<T: Sendable>(_ connection: LeasedConnection, _ body: () async throws -> T) async throws -> T {
        guard case .postgres = connection else { return try await body() }
        let sql = connection.sql
        try await sql.execute(sql: SQLRaw("SET statement_timeout = 0")) { _ in }
        try await sql.execute(sql: SQLRaw("SET lock_timeout = 0")) { _ in }
        try await sql.execute(sql: SQLRaw("SELECT pg_advisory_lock(72207001)")) { _ in }
        // The connection goes back to the pool afterwards: restore its limits either way.
        func release() async {
            try? await sql.execute(sql: SQLRaw("SELECT pg_advisory_unlock(72207001)")) { _ in }
            try? await sql.execute(sql: SQLRaw("RESET statement_timeout")) { _ in }
            try? await sql.execute(sql: SQLRaw("RESET lock_timeout")) { _ in }
        }
        do {
            let result = try await body()
            await release()
            return result
        } catch {
            await release()
            throw error
        }
    }
}
