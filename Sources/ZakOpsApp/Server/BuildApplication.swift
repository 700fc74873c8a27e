import Hummingbird
import Logging
import NIOCore
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// Builds the HTTP application: the request pipeline of DESIGN.md around the router.
///
/// - Parameter extraRoutes: lets tests register routes that exercise the pipeline (a slow
///   handler, a JSON echo); production passes nothing.
public func buildApplication(
    settings: Settings,
    database: Database,
    logger: Logger,
    startup: StartupState = StartupState(),
    extraRoutes: (Router<AppRequestContext>) -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    // First, so that it wraps every route registered below and the router's not-found answer.
    router.add(middleware: RouterErrorBridge())
    let migrations = try MigrationRunner(database: database, logger: logger)
    HealthController(database: database, migrations: migrations, startup: startup).register(on: router)
    extraRoutes(router)

    let allowed = AllowedMethods(routes: router.routes.map { ($0.path, $0.method) })
    // Outermost first, as in DESIGN.md's request pipeline. Transport, CORS, rate limits,
    // authentication and CSRF slot in after the sanitizer as their features land.
    let pipeline = PipelineResponder<AppRequestContext>(
        [
            RequestLogMiddleware(),
            SecurityHeadersMiddleware(SecurityHeaders(xssProtection: settings.xssProtection)),
            ErrorSanitizerMiddleware(allowedMethods: allowed),
            BodyLimitMiddleware(limit: settings.bodyLimitBytes),
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
        services: database.service.map { [$0] } ?? [],
        onServerRunning: { _ in startup.markComplete() },
        logger: logger
    )
}
