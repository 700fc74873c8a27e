import ZakOpsTestSupport
import Foundation
import Testing
@testable import ZakOpsCore

@Suite("Preflight")
struct PreflightTests {
    /// Settings that pass every check: what a careful production deployment looks like.
    static func safeProduction() -> Settings {
        var settings = Settings()
        settings.environment = .production
        settings.sessionSecret = Secret(RandomToken.base32(RandomToken.bytes(48)))
        settings.dataEncryptionKey = Secret(Data(RandomToken.bytes(32)).base64EncodedString())
        settings.backupAgeRecipient = "age1" + String(repeating: "q", count: 58)
        settings.secretSources = ["SESSION_SECRET": .file, "DATABASE_URL": .file, "DATA_ENCRYPTION_KEY": .file]
        settings.corsOrigins = ["https://app.example.com"]
        settings.trustedProxies = [CIDR("10.0.0.0/8")!]
        settings.publicBaseURL = "https://zakops.example.com"
        settings.mailBackend = .sendmail
        settings.alertEmail = "oncall@example.com"
        settings.database = .postgres(PostgresLocation(host: "db.internal", port: 5432, username: "zakops", password: Secret("x"), database: "zakops", tls: .require, tlsExplicit: false))
        return settings
    }

    static let current = Preflight.DatabaseFinding.reachable(MigrationState())

    @Test("secrets made the documented ways pass the strength check")
    func strongSecrets() {
        let base64 = Data(RandomToken.bytes(48)).base64EncodedString()
        let hex = RandomToken.bytes(32).map { String(format: "%02x", $0) }.joined()
        #expect(SecretStrength.weakness(of: base64) == nil)
        #expect(SecretStrength.weakness(of: hex) == nil)
    }

    @Test("safe production settings pass")
    func passes() {
        let report = Preflight.evaluate(Self.safeProduction(), database: Self.current)
        #expect(report.ok)
        #expect(report.failures.isEmpty)
        #expect(report.text.contains("preflight passed"))
    }

    /// Each bad setting and the check it must fail.
    static let failures: [(String, String, @Sendable (inout Settings) -> Void)] = [
        ("AUTH_REQUIRED=false", "auth_required", { $0.authRequired = false }),
        ("DEBUG=true", "debug_off", { $0.debug = true }),
        ("WEBHOOK_ALLOW_PRIVATE=true", "webhook_targets", { $0.webhookAllowPrivate = true }),
        ("no session secret", "session_secret", { $0.sessionSecret = nil }),
        ("no data encryption key", "data_encryption_key", { $0.dataEncryptionKey = nil }),
        ("no backup recipient", "backup_recipient", { $0.backupAgeRecipient = nil }),
        ("metrics on every address without a token", "metrics_endpoint", { $0.metricsHost = "0.0.0.0" }),
        ("short session secret", "session_secret", { $0.sessionSecret = Secret(RandomToken.base32(RandomToken.bytes(10))) }),
        ("example session secret", "session_secret", { $0.sessionSecret = Secret("change-me-to-a-long-random-string-please-0123456789") }),
        ("low-entropy session secret", "session_secret", { $0.sessionSecret = Secret(String(repeating: "ab", count: 32)) }),
        ("24 random bytes in base64 (too few)", "session_secret", { $0.sessionSecret = Secret(Data(RandomToken.bytes(24)).base64EncodedString()) }),
        ("a passphrase", "session_secret", { $0.sessionSecret = Secret("correct horse battery staple sentence with many more words") }),
        ("secret from .env", "secrets_not_dotenv", { $0.secretSources["SESSION_SECRET"] = .dotEnvFile }),
        ("no CORS origins", "cors_origins", { $0.corsOrigins = [] }),
        ("http CORS origin", "cors_origins", { $0.corsOrigins = ["http://app.example.com"] }),
        ("no TLS and no proxy", "https", { $0.trustedProxies = [] }),
        // Files named but unusable (the finding defaults to not configured here): no HTTPS.
        ("TLS files that cannot be used", "https", { $0.trustedProxies = []; $0.tlsCertFile = "/etc/zakops/cert.pem"; $0.tlsKeyFile = "/etc/zakops/key.pem" }),
        ("rate limits off", "rate_limits", { $0.rateLimitEnabled = false }),
        ("auth limit above 10/min", "rate_limits", { $0.rateLimitAuthPerMinute = 11 }),
        ("API limit above 60/min", "rate_limits", { $0.rateLimitAPIPerMinute = 600 }),
        ("every address a trusted proxy (IPv4)", "trusted_proxies", { $0.trustedProxies = [CIDR("0.0.0.0/0")!] }),
        ("every address a trusted proxy (IPv6)", "trusted_proxies", { $0.trustedProxies = [CIDR("10.0.0.0/8")!, CIDR("::/0")!] }),
        ("no PUBLIC_BASE_URL", "public_base_url", { $0.publicBaseURL = nil }),
        ("http PUBLIC_BASE_URL", "public_base_url", { $0.publicBaseURL = "http://zakops.example.com" }),
        ("remote PostgreSQL without TLS", "database_tls", {
            $0.database = .postgres(PostgresLocation(host: "db.internal", port: 5432, username: "zakops", password: nil, database: "zakops", tls: .disable, tlsExplicit: true))
        }),
    ]

    @Test("embedded alerts with nowhere to go are a warning; a webhook, an address, or Prometheus's alerting instead pass")
    func alertDestination() {
        var settings = Self.safeProduction()
        #expect(Preflight.evaluate(settings, database: Self.current).checks.first { $0.id == "alerts" }?.status == .pass)
        settings.alertEmail = nil
        let silent = Preflight.evaluate(settings, database: Self.current)
        #expect(silent.ok && silent.checks.first { $0.id == "alerts" }?.status == .warn)
        settings.alertWebhookURL = "https://alerts.example.com/hook"
        #expect(Preflight.evaluate(settings, database: Self.current).checks.first { $0.id == "alerts" }?.status == .pass)
        settings.alertWebhookURL = nil
        settings.alertsEmbedded = false
        #expect(Preflight.evaluate(settings, database: Self.current).checks.first { $0.id == "alerts" }?.status == .pass)
    }

    @Test("limits above the checklist's are a warning, not a failure, when explicitly allowed")
    func higherLimitsAllowed() {
        var settings = Self.safeProduction()
        settings.rateLimitAPIPerMinute = 600
        settings.rateLimitAllowHigher = true
        let report = Preflight.evaluate(settings, database: Self.current)
        #expect(report.ok)
        #expect(report.checks.first { $0.id == "rate_limits" }?.status == .warn)
    }

    @Test("each unsafe setting fails its check", arguments: 0..<failures.count)
    func fails(index: Int) {
        let (_, id, change) = Self.failures[index]
        var settings = Self.safeProduction()
        change(&settings)
        let report = Preflight.evaluate(settings, database: Self.current)
        #expect(!report.ok)
        #expect(report.failures.map(\.id) == [id])
        #expect(report.failures.allSatisfy { !$0.fix.isEmpty })
    }

    @Test("pending, changed and unreachable migrations fail and are named; newer unknown ones warn (expand/contract)")
    func migrations() {
        let pending = Preflight.evaluate(Self.safeProduction(), database: .reachable(MigrationState(pending: ["0002_create_settings"])))
        #expect(pending.failures.map(\.id) == ["migrations"])
        #expect(pending.text.contains("0002_create_settings"))
        let changed = Preflight.evaluate(Self.safeProduction(), database: .reachable(MigrationState(changed: ["0001_create_operators"])))
        #expect(changed.failures.first?.detail.contains("checksum changed: 0001_create_operators") == true)
        let unreachable = Preflight.evaluate(Self.safeProduction(), database: .unreachable)
        #expect(unreachable.failures.map(\.id) == ["migrations"])
        // Newer migrations than this binary knows (an upgrade rolling out): a warning, not a refusal.
        let ahead = Preflight.evaluate(Self.safeProduction(), database: .reachable(MigrationState(unknown: ["9999_next_release"])))
        #expect(ahead.ok && ahead.checks.first { $0.id == "migrations" }?.status == .warn)
        #expect(ahead.checks.first { $0.id == "migrations" }?.detail.contains("9999_next_release") == true)
        let aheadAndPending = Preflight.evaluate(Self.safeProduction(), database: .reachable(MigrationState(pending: ["0002_create_settings"], unknown: ["9999_next_release"])))
        #expect(aheadAndPending.failures.map(\.id) == ["migrations"])
    }

    @Test("a secret unchanged for longer than SECRET_MAX_AGE_DAYS is a warning, named with its age")
    func secretAges() {
        let now = Date()
        let report = Preflight.evaluate(Self.safeProduction(), database: Self.current,
                                        secretAges: ["SESSION_SECRET": now.addingTimeInterval(-91 * 86_400),
                                                     "DATA_ENCRYPTION_KEY": now.addingTimeInterval(-10 * 86_400),
                                                     "webhook secrets": now.addingTimeInterval(-200 * 86_400)], now: now)
        #expect(report.ok)
        let session = report.checks.first { $0.id == "secret_age_session_secret" }
        #expect(session?.status == .warn && session?.detail.contains("91 day(s)") == true)
        #expect(report.checks.first { $0.id == "secret_age_data_encryption_key" }?.status == .pass)
        #expect(report.checks.first { $0.id == "secret_age_webhook_secrets" }?.status == .warn)
        var longer = Self.safeProduction()
        longer.secretMaxAgeDays = 365
        #expect(Preflight.evaluate(longer, database: Self.current, secretAges: ["SESSION_SECRET": now.addingTimeInterval(-91 * 86_400)], now: now)
            .checks.first { $0.id == "secret_age_session_secret" }?.status == .pass)
    }

    @Test("a database password in a plain variable, SQLite, filed mail and open registration in production are warnings")
    func warnings() {
        var open = Self.safeProduction()
        open.allowRegistration = true
        let openReport = Preflight.evaluate(open, database: Self.current)
        #expect(openReport.ok)
        #expect(openReport.checks.first { $0.id == "registration" }?.status == .warn)
        #expect(Preflight.evaluate(Self.safeProduction(), database: Self.current).checks.first { $0.id == "registration" }?.status == .pass)
        var filed = Self.safeProduction()
        filed.mailBackend = .file
        let filedReport = Preflight.evaluate(filed, database: Self.current)
        #expect(filedReport.ok)
        #expect(filedReport.checks.first { $0.id == "mail_backend" }?.status == .warn)
        var settings = Self.safeProduction()
        settings.secretSources["DATABASE_URL"] = .environment
        let report = Preflight.evaluate(settings, database: Self.current)
        #expect(report.ok)
        #expect(report.checks.first { $0.id == "database_credentials" }?.status == .warn)

        settings.database = .sqlite(path: "data/zakops.sqlite")
        let sqlite = Preflight.evaluate(settings, database: Self.current)
        #expect(sqlite.ok)
        #expect(sqlite.checks.first { $0.id == "database_engine" }?.status == .warn)
    }

    @Test("the report never contains the session secret")
    func noSecretInReport() throws {
        var settings = Self.safeProduction()
        let weak = "short-" + RandomToken.base32(RandomToken.bytes(5))
        settings.sessionSecret = Secret(weak)
        let report = Preflight.evaluate(settings, database: Self.current)
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        let leaked = TestLeak.found(in: report.text, weak) || TestLeak.found(in: json, weak)
        #expect(!leaked)
    }
}
