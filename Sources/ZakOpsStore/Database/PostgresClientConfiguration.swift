import NIOSSL
import PostgresNIO
import ZakOpsCore

extension PostgresClient.Configuration {
    /// A pool configuration from a parsed `DATABASE_URL`.
    ///
    /// `require` verifies the server certificate and host name (NIOSSL's default full
    /// verification), which is what `sslmode=verify-full` means elsewhere.
    init(location: PostgresLocation, poolSize: Int, connectTimeout: Duration, statementTimeout: Duration) {
        let tls: PostgresClient.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(.makeClientConfiguration())
        case .require: tls = .require(.makeClientConfiguration())
        }
        self.init(
            host: location.host,
            port: location.port,
            username: location.username,
            password: location.password?.value,
            database: location.database,
            tls: tls
        )
        options.maximumConnections = poolSize
        options.connectTimeout = connectTimeout
        // Server-side bounds for every statement of the session: a query stuck on a lock fails
        // after the connection deadline, a runaway one after the statement timeout.
        options.additionalStartupParameters = [
            ("application_name", "zakops"),
            ("lock_timeout", "\(connectTimeout.components.seconds)s"),
            ("statement_timeout", "\(statementTimeout.components.seconds)s"),
        ]
    }
}
