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
    public static func open(_ location: DatabaseLocation, poolSize: Int, deadline: Duration, logger: Logger) async throws -> Database {
        switch location {
        case .sqlite(let path):
            do {
                let pool = try await SQLiteConnectionPool.open(path: path, size: min(poolSize, 8), busyTimeout: deadline, logger: logger)
                return Database(dialect: .sqlite, backend: .sqlite(pool), deadline: deadline, logger: logger)
            } catch let error as StoreError {
                throw error
            } catch {
                throw StoreError.unavailable(reason: "cannot open the SQLite file (\(String(describing: error)))")
            }
        case .postgres(let postgres):
            let configuration = PostgresClient.Configuration(location: postgres, poolSize: poolSize, connectTimeout: deadline)
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            return Database(dialect: .postgres, backend: .postgres(client), deadline: deadline, logger: logger)
        }
    }

    /// Opens the database, runs its background work for the duration of `body`, then closes it.
    /// For commands that run outside the server's ServiceGroup.
    public static func withOpened<T: Sendable>(
        _ location: DatabaseLocation, poolSize: Int, deadline: Duration, logger: Logger,
        _ body: @Sendable (Database) async throws -> T
    ) async throws -> T {
        let database = try await open(location, poolSize: poolSize, deadline: deadline, logger: logger)
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
        try await guarded { [backend] in
            switch backend {
            case .sqlite(let pool):
                return try await pool.withConnection { try await work($0.sql(queryLogLevel: nil)) }
            case .postgres(let client):
                return try await client.withConnection { try await work($0.sql(queryLogLevel: nil)) }
            }
        }
    }

    /// Runs `work` in one transaction: committed if it returns, rolled back if it throws.
    public func transaction<T: Sendable>(_ work: @escaping @Sendable (any SQLDatabase) async throws -> T) async throws -> T {
        try await guarded { [backend] in
            switch backend {
            case .sqlite(let pool):
                return try await pool.withConnection { connection in
                    try await SQLiteTransaction.run(on: connection) { try await work(connection.sql(queryLogLevel: nil)) }
                }
            case .postgres(let client):
                return try await client.withTransaction(logger: Logger(label: "zakops.db")) { connection in
                    try await work(connection.sql(queryLogLevel: nil))
                }
            }
        }
    }

    /// Runs `work` with a raw connection handle, without a deadline. For migrations only, which
    /// need session-level statements (advisory locks, BEGIN/COMMIT around DDL).
    func withMigrationConnection<T: Sendable>(_ work: @escaping @Sendable (MigrationConnection) async throws -> T) async throws -> T {
        do {
            switch backend {
            case .sqlite(let pool):
                return try await pool.withConnection { try await work(.sqlite($0)) }
            case .postgres(let client):
                return try await withDeadline(deadline) {
                    try await client.withConnection { connection in
                        // The connection is leased; migrations themselves may take longer than the deadline.
                        try await work(.postgres(connection))
                    }
                }
            }
        } catch {
            throw Self.classify(error)
        }
    }

    /// Checks that the database answers a trivial query.
    public func ping() async throws {
        try await read { database in
            _ = try await database.select().column(SQLLiteral.numeric("1"), as: "ok").all()
        }
    }

    private func guarded<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await withDeadline(deadline, work)
        } catch {
            throw Self.classify(error)
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

/// A connection handed to the migration runner.
enum MigrationConnection: Sendable {
    case sqlite(SQLiteConnection)
    case postgres(PostgresConnection)

    var sql: any SQLDatabase {
        switch self {
        case .sqlite(let connection): connection.sql(queryLogLevel: nil)
        case .postgres(let connection): connection.sql(queryLogLevel: nil)
        }
    }
}
