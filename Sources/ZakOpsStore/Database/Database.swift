import Synchronization
import Logging
import PostgresKit
import PostgresNIO
import SQLKit
import SQLiteKit
import SQLiteNIO
import ServiceLifecycle
import ZakOpsCore

/// The one entry point to storage, for both dialects.
///
/// Every query goes through `read` or `transaction`, which hand out an SQLKit database bound to
/// one connection: SQLKit builders bind every value, so no input is ever spliced into SQL text.
/// Both enforce the deadline and turn connection failures into `StoreError.unavailable`.
public final class Database: Sendable {
    public let dialect: SQLDialectKind
    private let backend: Backend
    private let deadline: Duration
    private let logger: Logger
    private let commitObservers = Mutex<[@Sendable () -> Void]>([])
    private let leaseCount = Atomic<Int>(0)
    private let auditKeyRing = Mutex<KeyRing?>(nil)

    /// The keys this database's transactions sign audit entries with (the application sets them
    /// once, from its settings). A transaction makes them its `TransactionScope.auditKeys`.
    public var auditKeys: KeyRing? {
        get { auditKeyRing.withLock { $0 } }
        set { auditKeyRing.withLock { $0 = newValue } }
    }

    private enum Backend: Sendable {
        case sqlite(SQLiteConnectionPool)
        case postgres(PostgresClient)
    }

    private init(dialect: SQLDialectKind, backend: Backend, deadline: Duration, logger: Logger) {
        self.dialect = dialect
        self.backend = backend
        self.deadline = deadline
        self.logger = logger
    }

    /// Opens the database `location` names. For PostgreSQL the pool only connects once
    /// `run()` is running: add `services` to the ServiceGroup, or use `withOpened`.
    /// With `create: false` a missing SQLite file is an error instead of a new database
    /// (checks must not change what they inspect).
    public static func open(
        _ location: DatabaseLocation, poolSize: Int, deadline: Duration, statementTimeout: Duration = .seconds(30),
        create: Bool = true, logger: Logger
    ) async throws -> Database {
        switch location {
        case .sqlite(let path):
            do {
                let pool = try await SQLiteConnectionPool.open(path: path, size: min(poolSize, 8), busyTimeout: deadline, create: create, logger: logger)
                return Database(dialect: .sqlite, backend: .sqlite(pool), deadline: deadline, logger: logger)
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError.unavailable(reason: "cannot open the SQLite file (\(String(describing: error)))")
            }
        case .postgres(let postgres):
            let configuration = PostgresClient.Configuration(location: postgres, poolSize: poolSize, connectTimeout: deadline, statementTimeout: statementTimeout)
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            return Database(dialect: .postgres, backend: .postgres(client), deadline: deadline, logger: logger)
        }
    }

    /// Opens the database, runs its background work for the duration of `body`, then closes it.
    /// For commands that run outside the server's ServiceGroup.
    public static func withOpened<T: Sendable>(
        _ location: DatabaseLocation, poolSize: Int, deadline: Duration, statementTimeout: Duration = .seconds(30),
        create: Bool = true, logger: Logger,
        _ body: @Sendable (Database) async throws -> T
    ) async throws -> T {
        let database = try await open(location, poolSize: poolSize, deadline: deadline, statementTimeout: statementTimeout, create: create, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            if let service = database.service {
                group.addTask { try await service.run() }
            }
            do {
                let result = try await body(database)
                group.cancelAll()
                await database.close()
                return result
            } catch {
                group.cancelAll()
                await database.close()
                throw error
            }
        }
    }

    /// The background service that owns the PostgreSQL pool (nil for SQLite).
    public var service: (any Service)? {
        switch backend {
        case .sqlite: nil
        case .postgres(let client): client
        }
    }

    /// Closes SQLite connections. (The PostgreSQL pool closes when its service stops.)
    public func close() async {
        if case .sqlite(let pool) = backend { await pool.close() }
    }

    /// Runs `work` on one connection, outside an explicit transaction.
    public func read<T: Sendable>(_ work: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection(role: .read) { connection in try await work(connection.sql) }
    }

    /// Runs one self-contained statement (an upsert, a delete) in autocommit mode.
    public func autocommit<T: Sendable>(_ work: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await withConnection(role: .write) { connection in try await work(connection.sql) }
    }

    /// Runs `body` unless another process runs a job with the same `key`; nil when one does.
    /// PostgreSQL: a session advisory lock, held on a connection of its own for the length of
    /// `body` (whose queries use other connections). SQLite serves a single instance: `body`
    /// simply runs.
    public func exclusively<T: Sendable>(_ key: Int64, _ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        guard dialect == .postgres else { return try await body() }
        return try await withConnection(role: .write) { connection in
            let sql = connection.sql
            let locked = try await sql.select().column(SQLFunction("pg_try_advisory_lock", args: SQLBind(key)), as: "locked").first()?
                .decode(column: "locked", as: Bool.self) ?? false
            guard locked else { return nil }
            func unlock() async {
                _ = try? await sql.select().column(SQLFunction("pg_advisory_unlock", args: SQLBind(key)), as: "unlocked").first()
            }
            do {
                let result = try await body()
                await unlock()
                return result
            } catch {
                await unlock()
                throw error
            }
        }
    }

    /// Runs `work` in one transaction: committed if it returns, rolled back if it throws.
    /// Errors from `work` come out unchanged (an `AppError` stays an `AppError`).
    public func transaction<T: Sendable>(_ work: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        let result = try await TransactionScope.$auditKeys.withValue(auditKeys) {
            try await withConnection(role: .write) { connection in
                try await connection.inTransaction { try await work(connection.sql) }
            }
        }
        for observer in commitObservers.withLock({ $0 }) { observer() }
        return result
    }

    /// Calls `observer` after every committed transaction of this process (the event feed
    /// wakes up at once instead of at its next poll). Cheap: it must not block.
    public func observeCommits(_ observer: @escaping @Sendable () -> Void) {
        commitObservers.withLock { $0.append(observer) }
    }

    /// Runs `work` with a leased connection: the wait for it is bounded by the deadline, and
    /// driver connection failures become `StoreError.unavailable`.
    /// `role` picks SQLite's writer or a reader connection (PostgreSQL connections do both).
    func withConnection<T: Sendable>(role: SQLiteConnectionPool.Role, _ work: @escaping @Sendable (LeasedConnection) async throws -> T) async throws -> T {
        leaseCount.add(1, ordering: .relaxed)
        do {
            if case .sqlite(let pool) = backend {
                let idle: T? = switch role {
                case .read: try await pool.readers.withIdleConnection { try await work(.sqliteRead($0)) }
                case .write: try await pool.writer.withIdleConnection { try await work(.sqlite($0)) }
                }
                if let idle { return idle }
            }
            return try await withLeaseDeadline(deadline) { [backend] flag in
                switch backend {
                case .sqlite(let pool):
                    switch role {
                    case .read:
                        return try await pool.readers.withConnection { connection in
                            flag.markLeased()
                            return try await work(.sqliteRead(connection))
                        }
                    case .write:
                        return try await pool.writer.withConnection { connection in
                            flag.markLeased()
                            return try await work(.sqlite(connection))
                        }
                    }
                case .postgres(let client):
                    return try await client.withConnection { connection in
                        flag.markLeased()
                        return try await work(.postgres(connection))
                    }
                }
            }
        } catch {
            throw Self.classify(error)
        }
    }

    /// How many times a connection was asked for since the database was opened: every query
    /// asks for one, so tests count queries with it (a refused flood must not make any).
    public var leases: Int { leaseCount.load(ordering: .relaxed) }

    /// Checks that the database answers a trivial query.
    public func ping() async throws {
        try await read { database in
            _ = try await database.select().column(SQLLiteral.numeric("1"), as: "ok").all()
        }
    }

    private static func classify(_ error: any Error) -> any Error {
        if error is StoreError { return error }
        if error is CancellationError { return StoreError.unavailable(reason: "cancelled while waiting for the database") }
        if ConnectionFailure.isUnavailable(error) {
            return StoreError.unavailable(reason: String(describing: error))
        }
        return error
    }
}

/// One connection leased from either pool.
enum LeasedConnection: Sendable {
    /// SQLite's writer.
    case sqlite(SQLiteConnection)
    /// A read-only SQLite connection (reads outside transactions).
    case sqliteRead(SQLiteReadConnection)
    case postgres(PostgresConnection)

    /// SQLKit over this connection, with query logging off: bound values can be credentials.
    var sql: any SQLDatabase {
        switch self {
        case .sqlite(let connection): connection.sql(queryLogLevel: nil)
        case .sqliteRead(let connection): SQLiteReadDatabase(connection: connection, logger: Self.logger)
        case .postgres(let connection): connection.sql(queryLogLevel: nil)
        }
    }

    private static let logger = Logger(label: "zakops.sqlite.read")

    /// Runs `work` between BEGIN and COMMIT, rolling back if it throws. Errors pass through
    /// unwrapped (PostgresClient's own `withTransaction` would wrap them).
    ///
    /// SQLite uses `BEGIN IMMEDIATE`: it takes the write lock up front, so two writers wait on
    /// `busy_timeout` instead of deadlocking when both try to upgrade a read lock.
    func inTransaction<T: Sendable>(_ work: () async throws -> T) async throws -> T {
        try await execute(isSQLite ? .beginImmediate : .begin)
        do {
            let result = try await work()
            try await execute(.commit)
            return result
        } catch {
            try? await execute(.rollback)
            throw error
        }
    }

    var isSQLite: Bool {
        if case .postgres = self { return false }
        return true
    }

    /// Transaction control statements only: constant text, nothing spliced.
    private func execute(_ statement: TransactionStatement) async throws {
        switch self {
        case .sqlite(let connection): _ = try await connection.query(statement.rawValue, [])
        case .sqliteRead(let connection): try connection.query(statement.rawValue, []) { _ in }
        case .postgres(let connection): try await connection.query(PostgresQuery(unsafeSQL: statement.rawValue), logger: connection.logger)
        }
    }
}

/// The only statements `LeasedConnection` runs itself.
enum TransactionStatement: String {
    case begin = "BEGIN"
    case beginImmediate = "BEGIN IMMEDIATE"
    case commit = "COMMIT"
    case rollback = "ROLLBACK"
}
