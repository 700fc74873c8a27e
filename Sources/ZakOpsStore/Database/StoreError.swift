import ZakOpsCore

/// Failures of the storage layer that callers handle by kind.
public enum StoreError: Error, Sendable, CustomStringConvertible, AppErrorConvertible {
    /// The database cannot be reached or did not answer in time. Maps to 503 `DATABASE_UNAVAILABLE`.
    /// `reason` is for the log only (it is redacted there) and never reaches a client.
    case unavailable(reason: String)
    /// The schema is not what this binary expects (pending or changed migrations).
    case schemaMismatch(String)
    /// A migration file is missing or malformed in this build.
    case invalidMigration(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "database unavailable: \(reason)"
        case .schemaMismatch(let summary): "database schema mismatch: \(summary)"
        case .invalidMigration(let detail): "invalid migration: \(detail)"
        }
    }

    public var appError: AppError {
        switch self {
        case .unavailable(let reason): AppError(.databaseUnavailable, logDetail: reason)
        case .schemaMismatch(let summary): AppError(.serviceUnavailable, logDetail: summary)
        case .invalidMigration(let detail): AppError(.internalError, logDetail: detail)
        }
    }
}
