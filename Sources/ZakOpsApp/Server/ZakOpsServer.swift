import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `zakops serve`: checks, prepares the database, then runs the HTTP server and its background
/// services in one ServiceGroup until SIGTERM or SIGINT.
public enum ZakOpsServer {
    /// Runs the server. Returns after a graceful shutdown; throws `ServeError` when it refuses
    /// to start (no port is bound then).
    public static func run(settings: Settings, logger: Logger, report: @Sendable (String) -> Void) async throws {
        // Checks use their own short-lived connection pool: a PostgreSQL pool runs only once.
        // In production they only inspect: a missing SQLite file is not created.
        do {
            try await Database.withOpened(settings: settings, create: !settings.isProduction, logger: logger) { database in
                try await prepare(database: database, settings: settings, logger: logger, report: report)
            }
        } catch StoreError.unavailable where settings.isProduction {
            try await prepare(database: nil, settings: settings, logger: logger, report: report)
        } catch StoreError.unavailable {
            throw ServeError.databaseUnavailable
        }

        if !settings.authRequired && !settings.isProduction {
            logger.warning("AUTH_REQUIRED=false: requests without credentials act as the development admin")
        }
        let database = try await Database.open(settings: settings, logger: logger)
        let group: ServiceGroup
        do {
            let components = try AppComponents(settings: settings, database: database, logger: logger)
            let startup = StartupState()
            var services: [any Service] = [try buildApplication(components, startup: startup)]
            var reloadActions = components.reloadActions
            var certificates: TLSCertificates?
            if let certificateFile = settings.tlsCertFile, let keyFile = settings.tlsKeyFile {
                let loaded = try TLSCertificates(certificateFile: certificateFile, keyFile: keyFile)
                certificates = loaded
                services.append(try buildApplication(components, startup: startup, listener: .tls(loaded)))
                reloadActions.append(CertificateReloader(certificates: loaded, logger: logger).reload)
            }
            services.append(HangupReloader(actions: reloadActions, logger: logger))
            // /metrics on its own listener (loopback by default), never on the public one.
            // With it, the sampled gauges: process-wide like the registry, so one sampler per
            // process (never per application built in it, as tests build many).
            ZakOpsMetrics.bootstrap()
            if !settings.metricsOnMainPort { services.append(MetricsListener.application(settings: settings, logger: logger)) }
            services.append(components.monitor(certificates: certificates))
            group = serviceGroup(for: services, settings: settings, logger: logger)
        } catch {
            await database.close()
            throw error
        }
        var metadata: Logger.Metadata = [
            "environment": .string(settings.environment.rawValue),
            "address": .string("\(settings.httpHost):\(settings.httpPort)"),
            "database": .string(settings.database.dialectName),
        ]
        if settings.tlsCertFile != nil { metadata["https_address"] = .string("\(settings.httpHost):\(settings.httpsPort)") }
        logger.info("server starting", metadata: metadata)
        do {
            try await group.run()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        logger.info("server stopped")
    }

    /// The ServiceGroup `serve` runs: stops on SIGTERM or SIGINT, giving in-flight requests
    /// `SHUTDOWN_GRACE_SECONDS` to finish before they are cancelled.
    public static func serviceGroup(for services: [any Service], settings: Settings, logger: Logger) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        configuration.maximumGracefulShutdownDuration = settings.shutdownGrace
        return ServiceGroup(configuration: configuration)
    }

    /// Preflight in production, migrations in development. A nil database is one that cannot
    /// be opened (preflight reports it).
    static func prepare(database: Database?, settings: Settings, logger: Logger, report: @Sendable (String) -> Void) async throws {
        do {
            if settings.isProduction {
                var finding = Preflight.DatabaseFinding.unreachable
                var ages: [String: Date] = [:]
                var lastBackup: Date?
                if let database {
                    finding = await inspect(database, logger: logger)
                    if case .reachable(let state) = finding, state.isUsable {
                        ages = try await SecretAges.read(settings, database: database)
                        lastBackup = try await BackupService.lastSuccess(in: database)
                    }
                }
                let result = Preflight.evaluate(settings, database: finding, tls: TLSCertificates.inspect(settings), secretAges: ages, lastBackup: lastBackup)
                report(result.text)
                guard result.ok else { throw ServeError.preflightFailed(result) }
                if let database { try await SecretAges.observe(settings, database: database) }
            } else if let database {
                do {
                    let applied = try await MigrationRunner(database: database, logger: logger).migrate()
                    if !applied.isEmpty {
                        logger.info("migrations applied", metadata: ["versions": .string(applied.joined(separator: ","))])
                    }
                    try await DevelopmentBootstrap.run(database: database, settings: settings, logger: logger, report: report)
                    try await SecretAges.observe(settings, database: database)
                } catch StoreError.schemaMismatch {
                    let state = try await MigrationRunner(database: database, logger: logger).state()
                    throw ServeError.migrationsNotCurrent(state)
                }
            } else {
                throw ServeError.databaseUnavailable
            }
        } catch StoreError.unavailable {
            throw ServeError.databaseUnavailable
        }
    }

    /// The database finding preflight needs: its migration state, or unreachable.
    public static func inspect(_ database: Database, logger: Logger) async -> Preflight.DatabaseFinding {
        do {
            return .reachable(try await MigrationRunner(database: database, logger: logger).state())
        } catch {
            logger.warning("preflight could not inspect the database", metadata: ["error_type": .string(String(describing: type(of: error)))])
            return .unreachable
        }
    }
}
