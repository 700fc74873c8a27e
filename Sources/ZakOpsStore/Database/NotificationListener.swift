import Logging
import SQLKit
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import Synchronization
import ZakOpsCore

/// PostgreSQL LISTEN on the channel `zakops`, on a connection of its own outside the pool.
///
/// A pooled connection held by LISTEN would be one less for requests, and kept the pool from
/// closing at shutdown; this one is opened when the service starts, closed when it stops, and
/// opened again with a growing delay (0.1 s doubling to 5 s) whenever it drops. While it is down
/// nothing is lost: `onConnect` runs after every (re)connection so that the caller catches up,
/// and the callers' timers (the event feed's poll, the credential cache's TTL) bound the wait.
///
/// Writers send with `NotificationListener.notify(_:in:)` inside their transaction: PostgreSQL
/// delivers a notification when, and only if, the transaction commits.
public final class NotificationListener: Service, Sendable {
    public static let channel = "zakops"
    /// The connection's `application_name` (an operator finds it in `pg_stat_activity`).
    public static let applicationName = "zakops-listener"

    /// The connection's configuration, or why there is none (a TLS context that could not be
    /// made: the listener then never connects, rather than connecting in the clear).
    private let configuration: Result<PostgresConnection.Configuration, any Error>
    private let logger: Logger
    private let onConnect: @Sendable () -> Void
    private let onNotification: @Sendable (String) -> Void
    private let connectionCount = Atomic<Int>(0)

    /// A listener for the PostgreSQL database of `location`; nil for SQLite (no such channel).
    public static func make(
        for location: DatabaseLocation, logger: Logger,
        onConnect: @escaping @Sendable () -> Void, onNotification: @escaping @Sendable (String) -> Void
    ) -> NotificationListener? {
        guard case .postgres(let postgres) = location else { return nil }
        return NotificationListener(location: postgres, logger: logger, onConnect: onConnect, onNotification: onNotification)
    }

    private init(location: PostgresLocation, logger: Logger, onConnect: @escaping @Sendable () -> Void, onNotification: @escaping @Sendable (String) -> Void) {
        configuration = Result {
            let tls: PostgresConnection.Configuration.TLS
            switch location.tls {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
            case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            }
            var configuration = PostgresConnection.Configuration(
                host: location.host, port: location.port, username: location.username,
                password: location.password?.value, database: location.database, tls: tls
            )
            configuration.options.additionalStartupParameters = [("application_name", Self.applicationName)]
            configuration.options.connectTimeout = .seconds(5)
            return configuration
        }
        self.logger = logger
        self.onConnect = onConnect
        self.onNotification = onNotification
    }

    /// How many times the listener has connected since it started (for tests and the log).
    public var connections: Int { connectionCount.load(ordering: .relaxed) }

    public func run() async throws {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let before = connections
            let started = ContinuousClock.now
            do {
                try await cancelWhenGracefulShutdown { try await self.listenOnce() }
            } catch {
                if Task.isCancelled || Task.isShuttingDownGracefully { return }
                // A connection that stayed up a while starts the delays over (one that drops
                // right after LISTEN keeps backing off).
                if connections > before, ContinuousClock.now - started > .seconds(5) { delay = .milliseconds(100) }
                logger.warning("notification listener down; the timers take over until it is back", metadata: [
                    "error_type": .string(String(describing: type(of: error))), "retry_in": .string("\(delay)"),
                ])
            }
            let wait = delay
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: wait) }
            } catch {
                return
            }
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// Connects, listens until the connection drops, and closes it.
    private func listenOnce() async throws {
        let connection = try await PostgresConnection.connect(configuration: try configuration.get(), id: 0, logger: logger)
        do {
            try await connection.listen(on: Self.channel) { notifications in
                connectionCount.add(1, ordering: .relaxed)
                onConnect()
                for try await notification in notifications {
                    onNotification(notification.payload)
                }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
        // The sequence ended without an error: the connection closed under it.
        throw ListenerClosed()
    }

    struct ListenerClosed: Error {}

    /// Queues `payload` on the channel in the transaction `sql` (PostgreSQL only).
    public static func notify(_ payload: String, in sql: any SQLDatabase) async throws {
        guard sql.dialect.name == "postgresql" else { return }
        try await sql.raw("SELECT pg_notify(\(literal: channel), \(bind: payload))").run()
    }
}
