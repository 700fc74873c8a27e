import Foundation
import ServiceLifecycle
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
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
    /// What seals TOTP seeds, webhook secrets and mail at rest.
    public let dataKeys: DataKeyRing
    /// Where rate-limit counts live: shared in PostgreSQL, in memory (bounded) with SQLite.
    public let rateLimitStore: any RateLimitStore
    /// This process's SSE subscribers (one hub for every listener).
    let eventHub: EventHub
    /// Sessions and API keys answered from memory for `AUTH_CACHE_SECONDS`.
    let credentials: CredentialCache
    /// Sessions' last-seen and keys' last-used times, written after the response.
    let lastSeen: LastSeenRecorder
    /// What wakes the event feed (commits here, notifications from other instances, its timer).
    let eventWakes = EventFeed.Wakes()
    /// PostgreSQL's notifications from every instance: events to read, credentials to drop
    /// (nil on SQLite).
    let listener: NotificationListener?
    /// Lockdown and the signing keys' generation, as every instance reads them.
    let runtime: RuntimeState
    /// Event streams counted per user across instances (PostgreSQL only).
    let streamLeases: StreamLeases?
    /// The operator console's files, read once.
    let consoleAssets: ConsoleAssets

    /// - Parameters:
    ///   - clock, mailer, hasher: tests pass a manual clock, a mailer in a temporary folder and a
    ///     hasher they share; production uses the defaults.
    public init(
        settings: Settings, database: Database, logger: Logger, clock: any AppClock = SystemClock(),
        mailer: (any Mailer)? = nil, hasher: PasswordHasher? = nil
    ) throws {
        let dataKeys = try settings.dataKeyRing()
        if dataKeys.isDerived { logger.warning("DATA_ENCRYPTION_KEY is not set: secrets at rest are sealed under the development key") }
        self.settings = settings
        self.database = database
        self.logger = logger
        self.clock = clock
        // Notifications go through the outbox (durable, retried); tests may pass a mailer that
        // writes at once.
        self.dataKeys = dataKeys
        // Every transaction of this database signs its audit entries with these keys.
        database.auditKeys = settings.auditKeyRing
        self.mailer = mailer ?? OutboxMailer(database: database, clock: clock, keys: dataKeys)
        self.hasher = hasher ?? PasswordHasher(cost: settings.passwordHashCost)
        credentials = CredentialCache(ttl: settings.authCacheTTL, maxEntries: settings.authCacheMaxEntries)
        lastSeen = LastSeenRecorder(database: database, logger: logger)
        switch settings.database {
        case .postgres:
            rateLimitStore = SharedRateLimitStore(counter: DatabaseRateLimitCounter(database: database), maxKeys: settings.rateLimitMaxKeys)
        case .sqlite: rateLimitStore = MemoryRateLimitStore(maxKeys: settings.rateLimitMaxKeys)
        }
        eventHub = EventHub(limits: .init(perUser: settings.sseMaxConnectionsPerUser, perInstance: settings.sseMaxConnections,
                                          bufferSize: settings.sseBufferEvents))
        if let secret = settings.sessionSecret {
            keys = KeyRingStore(KeyRing(current: secret, previous: settings.sessionSecretPrevious))
        } else {
            // Development without SESSION_SECRET: a key for this run only (preflight refuses
            // this in production). Sessions still work; CSRF tokens die with the process.
            logger.warning("SESSION_SECRET is not set: using a random key for this run only")
            keys = KeyRingStore(KeyRing(current: Secret(RandomToken.base32(RandomToken.bytes(48)))))
        }
        runtime = RuntimeState(database: database, keys: keys, hub: eventHub, logger: logger,
                               interval: .milliseconds(settings.runtimePollIntervalMilliseconds))
        consoleAssets = try ConsoleAssets()
        streamLeases = database.dialect == .postgres
            ? StreamLeases(database: database, clock: clock, logger: logger, limit: settings.sseMaxConnectionsPerUser) : nil
        listener = NotificationListener.make(
            for: settings.database, logger: logger,
            // Whatever was announced while the listener was down: read the log, drop the cache.
            onConnect: { [eventWakes, credentials, runtime] in
                eventWakes.wake()
                credentials.invalidateAll()
                runtime.wake()
            },
            onNotification: { [eventWakes, credentials, runtime] payload in
                if payload == EventFeed.notice {
                    eventWakes.wake()
                } else if payload == RuntimeState.notice {
                    runtime.wake()
                } else if let notice = CredentialNotice(payload: payload) {
                    notice.apply(to: credentials)
                } else {
                    credentials.invalidateAll()
                }
            }
        )
    }

    var sessions: SessionService {
        SessionService(database: database, clock: clock, maxAge: settings.sessionMaxAge, idleTimeout: settings.sessionIdleTimeout,
                       credentials: credentials, lastSeen: lastSeen, logger: logger)
    }

    var auth: AuthService {
        AuthService(database: database, sessions: sessions, totp: totp, hasher: hasher, keys: keys, mailer: mailer, clock: clock, backoff: backoff,
                    runtime: runtime, logger: logger)
    }

    var totp: TOTPService {
        TOTPService(database: database, hasher: hasher, mailer: mailer, clock: clock, credentials: credentials, dataKeys: dataKeys, logger: logger)
    }

    var passwordResets: PasswordResetService {
        PasswordResetService(database: database, hasher: hasher, mailer: mailer, clock: clock, backoff: backoff, credentials: credentials,
                             publicBaseURL: publicBaseURL, logger: logger)
    }

    /// User administration, dropping this instance's cached credentials at once.
    var users: UserAdmin {
        UserAdmin(database: database, mailer: mailer, hasher: hasher, credentials: credentials, publicBaseURL: publicBaseURL)
    }

    /// Retention and purging, by the configured policy.
    var retention: RetentionService {
        RetentionService(database: database, policy: settings.retention, users: users)
    }

    /// The incident playbooks, acting on this instance at once.
    var incidents: IncidentService {
        IncidentService(database: database, users: users, credentials: credentials, runtime: runtime)
    }

    var backoff: LoginBackoff {
        LoginBackoff(database: database, clock: clock, enabled: settings.loginBackoffEnabled)
    }

    var actions: ActionService {
        ActionService(database: database, approvalTTL: TimeInterval(settings.actionApprovalTTL.components.seconds))
    }

    /// Service accounts, with the key cache of the request path.
    var serviceAccounts: ServiceAccountService {
        ServiceAccountService(database: database, credentials: credentials, lastSeen: lastSeen, maxKeyAge: TimeInterval(settings.apiKeyMaxAgeDays * 86_400))
    }

    var limiter: RateLimiter { RateLimiter(store: rateLimitStore, clock: clock) }

    /// The checklist's two request groups, with the configured limits.
    var authPolicy: RateLimitPolicy { RateLimitPolicy(name: "auth", limit: settings.rateLimitAuthPerMinute) }
    var apiPolicy: RateLimitPolicy { RateLimitPolicy(name: "api", limit: settings.rateLimitAPIPerMinute) }
    var loginAccountPolicy: RateLimitPolicy { RateLimitPolicy(name: "login-account", limit: settings.rateLimitAuthPerMinute) }

    /// The request log's name for a client address (`LOG_CLIENT_IP`; hashed by default in
    /// production, under the key ring in force, so a rotation changes every name).
    var logClientAddress: @Sendable (String?) -> String {
        let form = settings.logClientIP ?? LogClientIP.standard(production: settings.isProduction)
        let keys = self.keys
        return { form.render($0, keys: keys.current) }
    }

    /// Where plain-HTTP requests are redirected: `PUBLIC_BASE_URL`'s origin when it is https,
    /// else this server's TLS port; nil when there is no HTTPS. Never from the Host header.
    var httpsOrigin: String? {
        let base = settings.publicBaseURL.flatMap { URLComponents(string: $0) }
        if let base, base.scheme == "https", let host = base.host {
            return "https://\(Self.bracketed(host))" + (base.port.map { ":\($0)" } ?? "")
        }
        guard settings.tlsCertFile != nil else { return nil }
        let host = base?.host ?? settings.httpHost
        return "https://\(Self.bracketed(host))" + (settings.httpsPort == 443 ? "" : ":\(settings.httpsPort)")
    }

    private static func bracketed(_ host: String) -> String {
        host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// Where links in e-mails point: `PUBLIC_BASE_URL`, never the request's Host header.
    var publicBaseURL: String { settings.linkBaseURL }

    /// Background services of the application: the PostgreSQL pool, the rate-limit janitor and
    /// (unless `OUTBOX_PROCESSOR=false`) an outbox processor.
    var services: [any Service] {
        var services: [any Service] = database.service.map { [$0] } ?? []
        services.append(lastSeen)
        services.append(RateLimitJanitor(database: database, retention: retention, clock: clock, logger: logger, interval: settings.rateLimitCleanupInterval))
        if settings.retentionJob { services.append(RetentionJob(retention: retention, database: database, clock: clock, logger: logger)) }
        if let hours = settings.backupScheduleHours, settings.backupAgeRecipient != nil {
            services.append(BackupJob(backups: BackupService(database: database, settings: settings, logger: logger), database: database,
                                      folder: settings.backupDirectory, every: TimeInterval(hours * 3600), keep: settings.backupKeep, clock: clock, logger: logger))
        }
        if settings.outboxProcessor { services.append(outboxProcessor) }
        if let listener { services.append(listener) }
        if let streamLeases { services.append(streamLeases) }
        services.append(runtime)
        services.append(EventFeed(database: database, hub: eventHub, wakes: eventWakes, logger: logger,
                                  pollInterval: .milliseconds(settings.ssePollIntervalMilliseconds),
                                  heartbeatInterval: .seconds(settings.sseHeartbeatSeconds)))
        return services
    }

    /// The gauges' sampler, this instance's report and, with `ALERTS_EMBEDDED`, the alerts'
    /// evaluation: one per `serve` process (`ZakOpsServer`). The instance is named by its host
    /// and port, as a scrape target is: a process restarted in its place takes its place
    /// (a crash it recovered from is not an instance down); tests name their own.
    func monitor(instance: String? = nil, certificates: TLSCertificates? = nil) -> Monitor {
        let notifier = AlertNotifier(webhookURL: settings.alertWebhookURL, email: settings.alertEmail,
                                     mailer: OutboxMailer(database: database, clock: clock, keys: dataKeys))
        var expiry: (@Sendable () -> Date)?
        if let certificates { expiry = { certificates.notValidAfter } }
        let sampler = MetricsSampler(database: database, hub: eventHub, clock: clock, settings: settings, logger: logger, certificateExpiry: expiry)
        return Monitor(sampler: sampler, evaluator: settings.alertsEmbedded ? AlertEvaluator(database: database, notifier: notifier, logger: logger) : nil,
                       database: database, clock: clock, logger: logger, interval: .seconds(settings.alertEvaluationSeconds),
                       instanceID: instance ?? "\(ProcessInfo.processInfo.hostName):\(settings.httpPort)", startedAt: clock.now())
    }

    /// Where the outbox delivers mail.
    var mailBackend: any Mailer {
        switch settings.mailBackend {
        case .file: FileMailer(folder: settings.mailDirectory)
        case .sendmail: SendmailMailer(path: settings.sendmailPath, from: settings.mailFrom)
        }
    }

    /// Where webhooks may go (https only in production; private addresses only when allowed).
    var webhookPolicy: WebhookAddressPolicy {
        WebhookAddressPolicy(requireHTTPS: settings.isProduction, allowPrivate: settings.webhookAllowPrivate)
    }

    var outboxProcessor: OutboxProcessor { outboxProcessor(policy: webhookPolicy) }

    /// The processor, delivering webhooks under `policy` (tests give one with a resolver table).
    func outboxProcessor(policy: WebhookAddressPolicy) -> OutboxProcessor {
        OutboxProcessor(
            database: database, clock: clock, logger: logger,
            deliverer: WebhookDeliverer(client: WebhookDeliverer.client, policy: policy, keys: dataKeys,
                                        timeout: .seconds(Int64(settings.webhookTimeoutSeconds)), database: database),
            mailBackend: mailBackend, dataKeys: dataKeys,
            backoff: OutboxBackoff(base: TimeInterval(settings.outboxBaseBackoffSeconds), maximum: TimeInterval(settings.outboxMaxBackoffSeconds),
                                   maxAttempts: settings.outboxMaxAttempts),
            batchSize: settings.outboxBatchSize, lease: TimeInterval(settings.outboxLeaseSeconds),
            pollInterval: .milliseconds(settings.outboxPollIntervalMilliseconds),
            alertWebhook: settings.alertWebhookURL.flatMap { url in settings.alertWebhookSecret.map { (url, $0.value) } }
        )
    }

    /// What SIGHUP re-reads: the key ring, when the session secret comes from a file.
    var reloadActions: [@Sendable () -> Void] {
        guard let file = settings.secretFiles["SESSION_SECRET"] else { return [] }
        let reloader = KeyRingReloader(
            store: keys, currentFile: file, previousFile: settings.secretFiles["SESSION_SECRET_PREVIOUS"],
            requireStrength: settings.isProduction, logger: logger
        )
        return [reloader.reload]
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
    try OpenAPIController().register(on: router)
    ConsoleController(assets: components.consoleAssets).register(on: router)
    AuthController(service: components.auth, sessions: components.sessions, keys: components.keys,
                   sessionMaxAge: Int(components.settings.sessionMaxAge.components.seconds),
                   accountLimit: components.settings.rateLimitEnabled ? (components.limiter, components.loginAccountPolicy) : nil)
        .register(on: routes)
    AdminServiceAccountController(service: components.serviceAccounts, clock: components.clock)
        .register(on: routes)
    PasswordResetController(service: components.passwordResets, clock: components.clock).register(on: routes)
    TOTPController(service: components.totp).register(on: routes)
    DealsController(service: DealService(database: components.database, clock: components.clock), clock: components.clock)
        .register(on: routes)
    AuditController(database: components.database, keys: components.settings.auditKeyRing, runtime: components.runtime, clock: components.clock)
        .register(on: routes)
    ActionsController(service: components.actions, clock: components.clock).register(on: routes)
    WebhooksController(service: WebhookService(database: components.database, keys: components.dataKeys), clock: components.clock, policy: components.webhookPolicy).register(on: routes)
    OutboxAdminController(admin: OutboxAdmin(database: components.database), clock: components.clock).register(on: routes)
    UserAdminController(admin: components.users, clock: components.clock).register(on: routes)
    IncidentController(service: components.incidents, clock: components.clock).register(on: routes)
    RetentionController(retention: components.retention).register(on: routes)
    AlertsController(database: components.database).register(on: routes)
    AccessReviewController(review: AccessReview(database: components.database, users: components.users, serviceAccounts: components.serviceAccounts,
                                                inactiveDays: components.settings.accessReviewInactiveDays), clock: components.clock).register(on: routes)
    EventStreamController(database: components.database, hub: components.eventHub, clock: components.clock, sessions: components.sessions,
                          serviceAccounts: components.serviceAccounts,
                          replayWindow: TimeInterval(components.settings.sseReplayHours * 3600), leases: components.streamLeases).register(on: routes)
    RegistrationController(service: RegistrationService(database: components.database, mailer: components.mailer, logger: components.logger),
                           hasher: components.hasher, clock: components.clock, enabled: components.settings.allowRegistration).register(on: routes)
    extraRoutes(router)
    return (router, registry)
}

/// Which socket an application listens on.
public enum Listener: Sendable {
    /// `HTTP_PORT`. While TLS is on, it only redirects (and serves `/health/*` with `HEALTH_ON_HTTP`).
    case plain
    /// `HTTPS_PORT`, with the certificate store the handshake reads.
    case tls(TLSCertificates)
}

/// Builds one listener's HTTP application: the request pipeline of DESIGN.md around the router.
///
/// - Parameters:
///   - listener: the plain port (the default) or the TLS port; `zakops serve` builds both when
///     TLS files are configured. Background services run with the plain listener's application.
///   - extraRoutes: lets tests register routes that exercise the pipeline (a slow handler, a
///     JSON echo); production passes nothing.
public func buildApplication(
    _ components: AppComponents,
    startup: StartupState = StartupState(),
    listener: Listener = .plain,
    extraRoutes: (Router<AppRequestContext>) -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let settings = components.settings
    let (router, _) = try buildRouter(components, startup: startup, extraRoutes: extraRoutes)
    let allowed = AllowedMethods(routes: router.routes.map { ($0.path, $0.method) })
    let scheme: RequestScheme
    let server: HTTPServerBuilder
    let port: Int
    switch listener {
    case .plain:
        scheme = .http
        server = .http1(configuration: .init(additionalChannelHandlers: [InboundClose.Handler()], idleTimeout: TimeAmount(settings.httpIdleTimeout)))
        port = settings.httpPort
    case .tls(let certificates):
        scheme = .https
        server = try .tls(.http1(configuration: .init(additionalChannelHandlers: [InboundClose.Handler()], idleTimeout: TimeAmount(settings.httpIdleTimeout))),
                          tlsConfiguration: certificates.serverConfiguration())
        port = settings.httpsPort
    }
    var middlewares: [any MiddlewareProtocol<Request, Response, AppRequestContext>] = [
        ClientAddressMiddleware(trustedProxies: settings.trustedProxies, listenerScheme: scheme),
        RequestLogMiddleware(clientAddress: components.logClientAddress),
        SecurityHeadersMiddleware(SecurityHeaders(xssProtection: settings.xssProtection)),
        AllowListCORSMiddleware(origins: settings.corsOrigins, allowedMethods: allowed),
        ErrorSanitizerMiddleware(allowedMethods: allowed),
        // Before the redirect: a credential already sent in clear is refused, not bounced to HTTPS.
        SensitiveQueryMiddleware(),
        HTTPSRedirectMiddleware(
            origin: components.httpsOrigin,
            redirectsPlainListener: scheme == .http && settings.tlsCertFile != nil,
            healthOnHTTP: settings.healthOnHTTP
        ),
        BodyLimitMiddleware(limit: settings.bodyLimitBytes),
    ]
    if settings.metricsOnMainPort, let token = settings.metricsToken { middlewares.append(MetricsEndpointMiddleware(token: token)) }
    // Rate limits before authentication (DESIGN.md's order): a request over a limit costs no query.
    if settings.rateLimitEnabled {
        middlewares.append(RateLimitMiddleware(limiter: components.limiter, auth: components.authPolicy, api: components.apiPolicy,
                                               sessionCookie: SessionCookie.name))
    }
    middlewares.append(AuthenticationMiddleware(
        sessions: components.sessions, serviceAccounts: components.serviceAccounts,
        clock: components.clock, developmentAdmin: !settings.authRequired && !settings.isProduction
    ))
    middlewares.append(CredentialRefusalLimit(limiter: settings.rateLimitEnabled ? components.limiter : nil, api: components.apiPolicy))
    // Before CSRF: the first request of a starting instance reads the switches and the signing
    // keys' generation before any token is checked.
    middlewares.append(LockdownMiddleware(runtime: components.runtime, lastSeen: components.lastSeen))
    middlewares.append(CSRFMiddleware(keys: components.keys, trustedOrigins: components.trustedOrigins))
    middlewares.append(IdempotencyMiddleware(store: IdempotencyStore(database: components.database), clock: components.clock,
                                             paths: ["/api/deals", "/api/actions", "/api/admin/service-accounts",
                                                     "/api/admin/service-accounts/*/keys", "/api/admin/webhooks"]))
    let isPlain = scheme == .http
    // With TLS on, the TLS listener decides when the server is started.
    let marksStartup = isPlain == (settings.tlsCertFile == nil)
    return Application(
        responder: PipelineResponder(middlewares, around: router.buildResponder()),
        server: server,
        configuration: ApplicationConfiguration(address: .hostname(settings.httpHost, port: port), serverName: nil),
        services: isPlain ? components.services : [],
        onServerRunning: { _ in if marksStartup { startup.markComplete() } },
        logger: components.logger
    )
}
