import Logging
import ZakOpsCore

extension Database {
    /// Opens the database the settings name, with their pool size and time limits.
    public static func open(settings: Settings, poolSize: Int? = nil, create: Bool = true, logger: Logger) async throws -> Database {
        try await open(
            settings.database, poolSize: poolSize ?? settings.databasePoolSize, deadline: settings.databaseTimeout,
            statementTimeout: settings.databaseStatementTimeout, create: create, logger: logger
        )
    }

    /// `withOpened` for the database the settings name.
    public static func withOpened<T: Sendable>(
        settings: Settings, poolSize: Int = 2, create: Bool = true, logger: Logger,
        _ body: @Sendable (Database) async throws -> T
    ) async throws -> T {
        try await withOpened(
            settings.database, poolSize: poolSize, deadline: settings.databaseTimeout,
            statementTimeout: settings.databaseStatementTimeout, create: create, logger: logger, body
        )
    }
}
