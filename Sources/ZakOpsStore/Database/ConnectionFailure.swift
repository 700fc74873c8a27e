import NIOCore
import PostgresNIO
import SQLiteNIO

/// Decides whether an error from a driver means "the database cannot be reached" (503) rather
/// than a bug or a constraint violation (which the caller handles or reports as 500).
enum ConnectionFailure {
    /// SQLSTATE classes and codes that mean the server is not usable right now.
    private static let unavailableStates: Set<String> = [
        "57P01", "57P02", "57P03",  // admin shutdown, crash shutdown, cannot connect now
        "53300",  // too many connections
        "3D000",  // database does not exist
        "28000", "28P01",  // authentication failed
        // A lock not granted within lock_timeout, a statement cancelled at statement_timeout:
        // the database is too busy now (the transaction is rolled back, so a 503 hides no
        // change that commits later).
        "55P03", "57014",
    ]

    static func isUnavailable(_ error: any Error) -> Bool {
        switch error {
        case let error as PSQLError:
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .sslUnsupported,
                 .failedToAddSSLHandler, .uncleanShutdown, .poolClosed, .unsupportedAuthMechanism,
                 .authMechanismRequiresPassword, .saslError, .receivedUnencryptedDataAfterSSLRequest:
                return true
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                return unavailableStates.contains(state) || state.hasPrefix("08")
            default:
                return false
            }
        case let error as SQLiteError:
            switch error.reason {
            case .cantOpen, .ioError, .busy, .busyTimeout, .busyInRecovery, .busyInSnapshot, .locked, .notADatabase, .corrupt, .full, .permission, .readOnly:
                return true
            default:
                return false
            }
        case let error as SQLiteReadError:
            return error.isUnavailable
        case is IOError, is ChannelError, is NIOConnectionError:
            return true
        default:
            return false
        }
    }
}
