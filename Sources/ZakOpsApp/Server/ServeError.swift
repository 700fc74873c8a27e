import ZakOpsCore

/// Why `zakops serve` refused to start. Each message names the problem and never a secret.
public enum ServeError: Error, CustomStringConvertible {
    case preflightFailed(PreflightReport)
    case migrationsNotCurrent(MigrationState)
    case databaseUnavailable

    public var description: String {
        switch self {
        case .preflightFailed(let report):
            "refusing to start in production: preflight failed (\(report.failures.map(\.id).joined(separator: ", ")))"
        case .migrationsNotCurrent(let state):
            "refusing to start: the database schema is not current (\(state.summary)); run `zakops migrate`"
        case .databaseUnavailable:
            "refusing to start: Database connection error. Check DATABASE_URL and that the database is running."
        }
    }
}
