import Foundation
import ServiceLifecycle
import Hummingbird
import Logging
import NIOCore
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The services the routes use, made once per application.
public struct AppComponents: Sendable {
    public let settings: Settings
    public let database: Database
    public let logger: Logger
    public let clock: any AppClock
    public let mailer: any Mailer
    public let hasher: PasswordHasher
    public let keys: KeyRingStore

    /// - Parameters:
    ///   - clock, mailer, hasher: tests pass a manual clock, a mailer in a temporary folder and a
    ///     hasher they share; production uses the defaults.
    public init(
        settings: Settings, database: Database, logger: Logger, clock: any AppClock = SystemClock(),
        mailer: (any Mailer)? = nil, hasher: PasswordHasher? = nil
    ) {
        self.settings = settings
        self.database = database
        self.logger = logger
        self.clock = clock
        self.mailer = mailer ?? FileMailer(folder: settings.mailDirectory)
        self.hasher = hasher ?? PasswordHasher(cost: settings.passwordHashCost)
        if let secret = settings.sessionSecret {
            keys = KeyRingStore(KeyRing(current: secret, previous: settings.sessionSecretPrevious))
        } else {
            // Development without SESSION_SECRET: a key for this run only (preflight refuses
            // this in production). Sessions still work; CSRF tokens die with the process.
            logger.warning("SESSION_SECRET is not set: using a random key for this run only")
            keys = KeyRingStore(KeyRing(current: Secret(RandomToken.base32(RandomToken.bytes(48)))))
        }
    }

    var identity: IdentityRepository { IdentityRepository(database: database) }

    var sessions: SessionService {
        SessionService(repository: identity, clock: clock, maxAge: settings.sessionMaxAge, idleTimeout: settings.sessionIdleTimeout, logger: logger)
    }

    var auth: AuthService {
        AuthService(repository: identity, sessions: sessions, hasher: hasher, keys: keys, mailer: mailer, clock: clock, logger: logger)
    }

    /// Where links in e-mails point: `PUBLIC_BASE_URL`, never the request's Host header.
    var publicBaseURL: String {
        settings.publicBaseURL ?? "http://\(settings.httpHost):\(settings.httpPort)"
    }

    /// Background services of the application: the PostgreSQL pool, and the key-ring reloader
    /// when the session secret comes from a file.
    var services: [any Service] {
        var services: [any Service] = database.service.map { [$0] } ?? []
        if let file = settings.secretFiles["SESSION_SECRET"] {
            services.append(KeyRingReloader(
                store: keys, currentFile: file, previousFile: settings.secretFiles["SESSION_SECRET_PREVIOUS"],
                requireStrength: settings.isProduction, logger: logger
            ))
        }
        return services
    }

    /// Origins trusted for unsafe requests besides the server's own: `CORS_ORIGINS` and
    /// `PUBLIC_BASE_URL`'s origin.
    var trustedOrigins: Set<String> {
        var origins = Set(settings.corsOrigins)
        if let base = settings.publicBaseURL, let url = URLComponents(string: base), let scheme = url.scheme, let host = url.host {
            origins.insert("\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? ""))
        }
        return origins
    }
}

/// The router with every route, and the access each one declared.
public func buildRouter(
    _ components: AppComponents,
    startup: StartupState = StartupState(),
    extraRoutes: (Router<AppRequestContext>) -> Void = { _ in }
) throws -> (Router<AppRequestContext>, AccessRegistry) {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    // First, so that it wraps every route registered below and the router's not-found answer.
    router.add(middleware: RouterErrorBridge())
    let registry = AccessRegistry()
    let routes = SecuredRoutes(router: router, registry: registry)
    let migrations = try MigrationRunner(database: components.database, logger: components.logger)
    HealthController(database: components.database, migrations: migrations, startup: startup).register(on: router)
    AuthController(service: components.auth, repository: components.identity, keys: components.keys,
                   sessionMaxAge: Int(components.settings.sessionMaxAge.components.seconds)).register(on: routes)
    AdminServiceAccountController(repository: ServiceAccountRepository(database: components.database), clock: components.clock)
        .register(on: routes)
    PasswordResetController(repository: components.identity, hasher: components.hasher, mailer: components.mailer, clock: components.clock,
                            publicBaseURL: components.publicBaseURL, logger: components.logger).register(on: routes)
    TOTPController(repository: components.identity, hasher: components.hasher, mailer: components.mailer, clock: components.clock,
                   logger: components.logger).register(on: routes)
    RegistrationController(repository: components.identity, hasher: components.hasher, clock: components.clock,
                           enabled: components.settings.allowRegistration, logger: components.logger).register(on: routes)
    extraRoutes(router)
    return (router, registry)
}

/// Builds the HTTP application: the request pipeline of DESIGN.md around the router.
///
/// - Parameter extraRoutes: lets tests register routes that exercise the pipeline (a slow
///   handler, a JSON echo); production passes nothing.
public func buildApplication(
    _ components: AppComponents,
    startup: StartupState = StartupState(),
    extraRoutes: (Router<AppRequestContext>) -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let settings = components.settings
    let (router, _) = try buildRouter(components, startup: startup, extraRoutes: extraRoutes)
    let allowed = AllowedMethods(routes: router.routes.map { ($0.path, $0.method) })
    // Outermost first, as in DESIGN.md's request pipeline. Transport, CORS and rate limits
    // slot in after the sanitizer as their features land.
    let pipeline = PipelineResponder<AppRequestContext>(
        [
            RequestLogMiddleware(),
            SecurityHeadersMiddleware(SecurityHeaders(xssProtection: settings.xssProtection)),
            ErrorSanitizerMiddleware(allowedMethods: allowed),
            BodyLimitMiddleware(limit: settings.bodyLimitBytes),
            AuthenticationMiddleware(
                sessions: components.sessions, serviceAccounts: ServiceAccountRepository(database: components.database),
                clock: components.clock, developmentAdmin: !settings.authRequired && !settings.isProduction
            ),
            CSRFMiddleware(keys: components.keys, trustedOrigins: components.trustedOrigins),
        ],
        around: router.buildResponder()
    )
    return Application(
        responder: pipeline,
        server: .http1(configuration: .init(idleTimeout: .seconds(30))),
        configuration: ApplicationConfiguration(
            address: .hostname(settings.httpHost, port: settings.httpPort),
            serverName: nil
        ),
        services: components.services,
        onServerRunning: { _ in startup.markComplete() },
        logger: components.logger
    )
}
