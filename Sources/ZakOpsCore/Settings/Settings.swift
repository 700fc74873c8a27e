import Logging

/// Every setting of ZakOps, typed, read once at start. Nothing reads the environment later.
///
/// The README's configuration table documents each one; `SettingsLoader` is where each is parsed.
public struct Settings: Sendable {
    public var environment: AppEnvironment = .development
    public var httpHost: String = "127.0.0.1"
    public var httpPort: Int = 8080
    public var database: DatabaseLocation = .sqlite(path: "data/zakops.sqlite")
    public var databasePoolSize: Int = 10
    /// Upper bound for acquiring a connection and running one statement before the request
    /// fails with 503 `DATABASE_UNAVAILABLE`.
    public var databaseTimeout: Duration = .seconds(5)
    /// How long an idle keep-alive connection stays open (`HTTP_IDLE_TIMEOUT_SECONDS`).
    public var httpIdleTimeout: Duration = .seconds(30)
    /// PostgreSQL `statement_timeout`: the longest any one request-path statement may run.
    public var databaseStatementTimeout: Duration = .seconds(30)
    public var authRequired: Bool = true
    public var debug: Bool = false
    public var sessionSecret: Secret?
    /// The previous session secret, still accepted for verification during a rotation.
    public var sessionSecretPrevious: Secret?
    /// The key that seals TOTP seeds, webhook secrets and link-carrying mail at rest
    /// (`DATA_ENCRYPTION_KEY`, 32 bytes in base64), and the one before it during a rotation.
    public var dataEncryptionKey: Secret?
    public var dataEncryptionKeyPrevious: Secret?
    /// The key of the audit trail's chain (`AUDIT_HMAC_KEY`), and the one before it: entries
    /// signed with it stay verifiable. Unset: derived from the session secret.
    public var auditHMACKey: Secret?
    public var auditHMACKeyPrevious: Secret?
    /// How often every instance reads the runtime switches (lockdown, signing-key generation)
    /// when no notification said they changed (`RUNTIME_POLL_INTERVAL_MS`): the bound on how
    /// late another instance acts on SQLite, or while PostgreSQL's listener is down.
    public var runtimePollIntervalMilliseconds = 500
    /// Where `/metrics` is served (`METRICS_HOST`, `METRICS_PORT`; loopback by default), and the
    /// bearer token it then requires (`METRICS_TOKEN`; preflight FAILs a non-loopback host
    /// without one). Port 0 picks a free port.
    public var metricsHost = "127.0.0.1"
    public var metricsPort = 9464
    public var metricsToken: Secret?
    /// `/metrics` on the public listener instead (`METRICS_ON_MAIN_PORT`), only with `METRICS_TOKEN`.
    public var metricsOnMainPort = false
    /// The alerts of `AlertCatalog` evaluated inside `serve` (`ALERTS_EMBEDDED`, on by default:
    /// the embedded default has no Prometheus), every `ALERT_EVALUATION_SECONDS` (also how often
    /// the sampled gauges are read).
    public var alertsEmbedded = true
    public var alertEvaluationSeconds = 15
    /// Where the embedded evaluator's notifications go: a signed webhook (`ALERT_WEBHOOK_URL`,
    /// `ALERT_WEBHOOK_SECRET`, a Standard Webhooks `whsec_` secret) and/or mail (`ALERT_EMAIL`).
    public var alertWebhookURL: String?
    public var alertWebhookSecret: Secret?
    public var alertEmail: String?
    /// The `age` public key backups are encrypted to (`BACKUP_AGE_RECIPIENT`): the server can
    /// write backups it cannot read.
    public var backupAgeRecipient: String?
    /// Scheduled backups inside `serve`: every `BACKUP_SCHEDULE_HOURS` hours (nil: off), into
    /// `BACKUP_DIR`, keeping the newest `BACKUP_KEEP` files.
    public var backupScheduleHours: Int?
    public var backupDirectory: String = "data/backups"
    public var backupKeep = 14
    /// How long each kind of data is kept (`RETENTION_*_DAYS`), and whether `serve` runs the
    /// daily purge (`RETENTION_JOB`).
    public var retention = RetentionPolicy()
    public var retentionJob = true
    /// How long an API key lives at most, and by default (`API_KEY_MAX_AGE_DAYS`, 1 to 365).
    public var apiKeyMaxAgeDays = 90
    /// After how many days without a sign-in or key use an access review flags a principal
    /// (`ACCESS_REVIEW_INACTIVE_DAYS`).
    public var accessReviewInactiveDays = 90
    /// After how many days preflight warns that a secret was not rotated (`SECRET_MAX_AGE_DAYS`).
    public var secretMaxAgeDays = 90
    /// Server-side idle timeout of a session (`SESSION_IDLE_MINUTES`).
    public var sessionIdleTimeout: Duration = .seconds(30 * 60)
    /// Absolute session lifetime: the checklist's 24 hours (cookie Max-Age and server expiry).
    public var sessionMaxAge: Duration = .seconds(24 * 60 * 60)
    /// bcrypt cost for new password hashes (`PASSWORD_HASH_COST`, 10 to 16).
    public var passwordHashCost: Int = 12
    /// Whether `POST /api/auth/register` is open (`ALLOW_REGISTRATION`).
    public var allowRegistration: Bool = false
    /// Where the development mailer writes `.eml` files (`MAIL_DIR`).
    public var mailDirectory: String = "data/mailbox"
    public var corsOrigins: [String] = []
    public var trustedProxies: [CIDR] = []
    public var publicBaseURL: String?
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    public var httpsPort: Int = 8443
    /// Whether `/health/*` stays reachable on the plain HTTP port when TLS is on (`HEALTH_ON_HTTP`).
    public var healthOnHTTP: Bool = false
    /// How long a proposed action waits for a decision before it expires (`ACTION_APPROVAL_TTL_HOURS`).
    public var actionApprovalTTL: Duration = .seconds(72 * 60 * 60)
    /// Outbox retries: exponential with jitter from the base to the maximum; dead after the
    /// last attempt (`OUTBOX_BASE_BACKOFF_SECONDS`, `OUTBOX_MAX_BACKOFF_SECONDS`, `OUTBOX_MAX_ATTEMPTS`).
    public var outboxBaseBackoffSeconds = 5
    public var outboxMaxBackoffSeconds = 300
    public var outboxMaxAttempts = 5
    /// How often an idle processor looks for due rows (`OUTBOX_POLL_INTERVAL_MS`).
    public var outboxPollIntervalMilliseconds = 1_000
    /// Rows per claim (`OUTBOX_BATCH_SIZE`) and how long a claim holds (`OUTBOX_LEASE_SECONDS`).
    public var outboxBatchSize = 50
    public var outboxLeaseSeconds = 60
    /// SSE: heartbeat comments, the replay window, connection limits per user and per instance,
    /// each connection's buffer in events, and how often the feed reads the event log.
    public var sseHeartbeatSeconds = 15
    public var sseReplayHours = 1
    public var sseMaxConnectionsPerUser = 5
    public var sseMaxConnections = 10_000
    public var sseBufferEvents = 256
    public var ssePollIntervalMilliseconds = 100
    /// Where the outbox delivers mail: `file` (the development mailbox in `MAIL_DIR`) or
    /// `sendmail` (`SENDMAIL_PATH`, from `MAIL_FROM`) (`MAIL_BACKEND`).
    public var mailBackend = MailBackend.file
    public var sendmailPath = "/usr/sbin/sendmail"
    public var mailFrom = "ZakOps <no-reply@localhost>"
    /// Whether `serve` runs an outbox processor (`OUTBOX_PROCESSOR`; `zakops outbox work` runs one alone).
    public var outboxProcessor = true
    /// Webhooks may target private, loopback and link-local addresses (`WEBHOOK_ALLOW_PRIVATE`; development and tests only).
    public var webhookAllowPrivate = false
    /// Total time allowed for one webhook delivery (`WEBHOOK_TIMEOUT_SECONDS`).
    public var webhookTimeoutSeconds = 10
    /// Rate limits (`RATE_LIMIT_ENABLED`); preflight refuses a production start without them.
    public var rateLimitEnabled: Bool = true
    /// Unsafe `/api/auth/*` requests per client IP per minute, and logins per account per minute.
    public var rateLimitAuthPerMinute: Int = 10
    /// Other `/api/*` requests per principal (per client IP when anonymous) per minute.
    public var rateLimitAPIPerMinute: Int = 60
    /// Lets preflight accept limits above the checklist's values (`RATE_LIMIT_ALLOW_HIGHER`).
    public var rateLimitAllowHigher: Bool = false
    /// Upper bound on the keys one instance's in-memory limiter keeps (`RATE_LIMIT_MAX_KEYS`).
    public var rateLimitMaxKeys: Int = 100_000
    /// The growing delay after repeated failed logins. Only tests turn it off (no setting reads it):
    /// timing tests need many failures against one account.
    public var loginBackoffEnabled: Bool = true
    /// How often the rate-limit janitor sweeps old counters, failures and idempotency keys. No
    /// setting reads it: tests that count queries move it out of their way.
    public var rateLimitCleanupInterval: Duration = .seconds(60)
    /// How long a session or API key found in the database is answered from memory
    /// (`AUTH_CACHE_SECONDS`, 0 to 5; 0 turns the cache off): the longest a revocation made by
    /// another instance or a `zakops` command can go unnoticed here (docs/decisions.md).
    public var authCacheTTL: Duration = .seconds(1)
    /// The most credentials kept in memory (`AUTH_CACHE_MAX_ENTRIES`).
    public var authCacheMaxEntries: Int = 10_000
    public var bodyLimitBytes: Int = 1_048_576
    public var shutdownGrace: Duration = .seconds(25)
    public var logLevel: Logger.Level = .info
    public var xssProtection: XSSProtection = .block
    /// How the request log names client addresses (`LOG_CLIENT_IP`); nil: hashed in production,
    /// full otherwise.
    public var logClientIP: LogClientIP?
    /// The files secrets were read from (`NAME_FILE`), keyed by the secret's name; re-read on SIGHUP.
    public var secretFiles: [String: String] = [:]
    /// Where each secret setting came from (keyed by its name, such as `SESSION_SECRET`).
    public var secretSources: [String: SettingSource] = [:]
    /// Whether a `.env` file was found and read.
    public var dotEnvFileLoaded: Bool = false

    public init() {}

    /// Whether this is a production start.
    public var isProduction: Bool { environment == .production }
}
