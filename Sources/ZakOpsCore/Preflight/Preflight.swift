import Foundation
import Logging

/// The security checklist's "Production Checklist Summary" as code.
///
/// `zakops preflight` prints it; `zakops serve` in production runs it first and refuses to start
/// on any FAIL. Later features append their checks here, so there is one list.
public enum Preflight {
    /// What preflight knows about the database: its migration state, or that it cannot be reached.
    public enum DatabaseFinding: Sendable {
        case reachable(MigrationState)
        case unreachable
    }

    /// What preflight knows about `TLS_CERT_FILE` and `TLS_KEY_FILE`.
    public enum TLSFinding: Sendable {
        case notConfigured
        /// The files cannot be read or do not hold a certificate chain and a matching key.
        case unusable
        case usable(notValidAfter: Date)
    }

    /// Certificates closer than this to their end give a warning.
    public static let certificateWarningPeriod: TimeInterval = 14 * 24 * 60 * 60

    /// Evaluates every check against the settings and the findings.
    /// - Parameter secretAges: when each secret (by setting name) was first seen in use, as the
    ///   database records it; past `SECRET_MAX_AGE_DAYS` a secret gives a warning.
    public static func evaluate(_ settings: Settings, database: DatabaseFinding, tls: TLSFinding = .notConfigured,
                                secretAges: [String: Date] = [:], lastBackup: Date? = nil, now: Date = Date()) -> PreflightReport {
        var checks: [PreflightCheck] = []
        func add(_ id: String, _ status: PreflightStatus, _ item: String, _ detail: String, fix: String = "") {
            checks.append(PreflightCheck(id: id, status: status, item: item, detail: detail, fix: status == .pass ? "" : fix))
        }

        add("app_env", settings.isProduction ? .pass : .warn, "APP_ENV=production",
            "APP_ENV=\(settings.environment.rawValue)",
            fix: "Set APP_ENV=production on production hosts; development relaxes several protections.")

        add("auth_required", settings.authRequired ? .pass : .fail, "AUTH_REQUIRED=true in production",
            "AUTH_REQUIRED=\(settings.authRequired)",
            fix: "Set AUTH_REQUIRED=true (the default); unauthenticated access is for local development only.")

        add("debug_off", settings.debug ? .fail : .pass, "DEBUG=false",
            "DEBUG=\(settings.debug)",
            fix: "Unset DEBUG or set DEBUG=false.")

        add("mail_backend", settings.mailBackend == .sendmail ? .pass : .warn, "Mail is sent, not filed",
            "MAIL_BACKEND=\(settings.mailBackend.rawValue)",
            fix: "Set MAIL_BACKEND=sendmail with SENDMAIL_PATH and MAIL_FROM, so that notifications reach people.")

        add("registration", settings.allowRegistration ? .warn : .pass, "Self-registration is closed",
            "ALLOW_REGISTRATION=\(settings.allowRegistration)",
            fix: "Unset ALLOW_REGISTRATION unless anyone who can reach the server may open an account; operators are created with `zakops user create`.")

        add("webhook_targets", settings.webhookAllowPrivate ? .fail : .pass, "Webhooks cannot reach private addresses (no SSRF)",
            "WEBHOOK_ALLOW_PRIVATE=\(settings.webhookAllowPrivate)",
            fix: "Unset WEBHOOK_ALLOW_PRIVATE: private, loopback and metadata addresses are for development receivers only.")

        if let secret = settings.sessionSecret {
            if let weakness = SecretStrength.weakness(of: secret.value) {
                add("session_secret", .fail, "Session secret is strong (32+ random bytes)", "SESSION_SECRET \(weakness)",
                    fix: "Generate one with `openssl rand -base64 48` and provide it through SESSION_SECRET_FILE.")
            } else {
                add("session_secret", .pass, "Session secret is strong (32+ random bytes)", "SESSION_SECRET is set and looks random")
            }
        } else {
            add("session_secret", .fail, "Session secret is strong (32+ random bytes)", "SESSION_SECRET is not set",
                fix: "Generate one with `openssl rand -base64 48` and provide it through SESSION_SECRET_FILE.")
        }

        if settings.dataEncryptionKey != nil {
            add("data_encryption_key", .pass, "Secrets encrypted at rest", "DATA_ENCRYPTION_KEY is set (32 bytes)")
        } else {
            add("data_encryption_key", .fail, "Secrets encrypted at rest", "DATA_ENCRYPTION_KEY is not set",
                fix: "Generate one with `openssl rand -base64 32`, provide it through DATA_ENCRYPTION_KEY_FILE, then run `zakops secrets rotate`.")
        }
        let metricsLoopback = ["127.0.0.1", "::1", "localhost"].contains(settings.metricsHost)
        if !metricsLoopback && settings.metricsToken == nil {
            add("metrics_endpoint", .fail, "Metrics endpoint secured", "METRICS_HOST=\(settings.metricsHost) serves /metrics without METRICS_TOKEN",
                fix: "Keep METRICS_HOST on loopback (the default), or set METRICS_TOKEN_FILE and give Prometheus the token.")
        } else {
            add("metrics_endpoint", .pass, "Metrics endpoint secured",
                metricsLoopback ? "/metrics on loopback only" : "/metrics requires a bearer token")
        }
        if !settings.alertsEmbedded {
            add("alerts", .pass, "Alerts configured", "ALERTS_EMBEDDED=false: alerting is Prometheus's (deploy/prometheus/alerts.yml)")
        } else if settings.alertWebhookURL == nil && settings.alertEmail == nil {
            add("alerts", .warn, "Alerts configured", "the embedded alerts have nowhere to go (no ALERT_WEBHOOK_URL, no ALERT_EMAIL)",
                fix: "Set ALERT_WEBHOOK_URL with ALERT_WEBHOOK_SECRET_FILE and/or ALERT_EMAIL, or run Prometheus with deploy/prometheus/ and set ALERTS_EMBEDDED=false.")
        } else {
            add("alerts", .pass, "Alerts configured", "the embedded alerts notify " + [settings.alertWebhookURL.map { _ in "a webhook" }, settings.alertEmail.map { _ in "an address" }].compactMap { $0 }.joined(separator: " and "))
        }
        if settings.backupAgeRecipient == nil {
            add("backup_recipient", .fail, "Backup encryption enabled", "BACKUP_AGE_RECIPIENT is not set",
                fix: "Create a key pair with age-keygen, keep the identity file offline, and set BACKUP_AGE_RECIPIENT to its public key.")
        } else {
            add("backup_recipient", .pass, "Backup encryption enabled", "backups are encrypted to an age recipient")
        }
        if let lastBackup, now.timeIntervalSince(lastBackup) <= 26 * 3600 {
            add("backup_recent", .pass, "Backups configured", "the last backup is \(Int(now.timeIntervalSince(lastBackup) / 3600)) hour(s) old")
        } else {
            add("backup_recent", .warn, "Backups configured",
                lastBackup.map { "the last backup is \(Int(now.timeIntervalSince($0) / 3600)) hours old (limit 26)" } ?? "no backup recorded",
                fix: "Run zakops backup create daily (docs/runbooks/backup-restore.md).")
        }
        if settings.auditHMACKey != nil {
            add("audit_key", .pass, "Audit trail tamper-evident", "AUDIT_HMAC_KEY is set")
        } else {
            add("audit_key", .warn, "Audit trail tamper-evident", "the audit chain is keyed by the session secret",
                fix: "Set AUDIT_HMAC_KEY_FILE (openssl rand -base64 48): replacing the session secret after a leak must not leave the audit trail unverifiable.")
        }
        for (name, age) in secretAges.sorted(by: { $0.key < $1.key }) {
            let days = Int(now.timeIntervalSince(age) / 86_400)
            add("secret_age_\(name.lowercased().replacingOccurrences(of: " ", with: "_"))", days > settings.secretMaxAgeDays ? .warn : .pass, "Secrets rotated regularly",
                "\(name) last changed \(days) day(s) ago (limit \(settings.secretMaxAgeDays))",
                fix: "Rotate \(name): see docs/runbooks/secret-rotation.md.")
        }

        let fromDotEnv = settings.secretSources.filter { $0.value == .dotEnvFile }.keys.sorted()
        add("secrets_not_dotenv", fromDotEnv.isEmpty ? .pass : .fail, "All secrets are set (from a secrets manager, not an env file)",
            fromDotEnv.isEmpty ? "no secret is read from a .env file" : "read from a .env file: " + fromDotEnv.joined(separator: ", "),
            fix: "Mount secrets as files from your secrets manager and point NAME_FILE at them; keep .env for development.")

        if case .postgres(let location) = settings.database, location.password != nil,
           let source = settings.secretSources["DATABASE_URL"], source != .file {
            add("database_credentials", .warn, "Database credentials in secrets manager (not env file)",
                "the database password is given in DATABASE_URL as a plain \(source == .flag ? "flag" : "variable")",
                fix: "Provide the URL through DATABASE_URL_FILE, a file your secrets manager mounts.")
        } else {
            add("database_credentials", .pass, "Database credentials in secrets manager (not env file)",
                "no database password in a plain variable")
        }

        if settings.corsOrigins.isEmpty {
            add("cors_origins", .fail, "CORS origins restricted", "CORS_ORIGINS is not set",
                fix: "Set CORS_ORIGINS to the dashboard's exact origin, for example https://app.example.com.")
        } else if let plain = settings.corsOrigins.first(where: { !$0.hasPrefix("https://") }) {
            add("cors_origins", .fail, "CORS origins restricted", "CORS_ORIGINS contains a non-https origin (\(plain))",
                fix: "List only https:// origins in CORS_ORIGINS.")
        } else {
            add("cors_origins", .pass, "CORS origins restricted", "\(settings.corsOrigins.count) explicit https origin(s)")
        }

        checks.append(httpsCheck(settings, tls: tls))
        if let check = certificateCheck(tls, now: now) { checks.append(check) }
        checks.append(rateLimitCheck(settings))
        if let open = settings.trustedProxies.first(where: { $0.prefixLength == 0 }) {
            add("trusted_proxies", .fail, "Client IPs come from the socket or a trusted proxy", "TRUSTED_PROXIES contains \(open), which trusts every address",
                fix: "List only your load balancers' addresses or subnets in TRUSTED_PROXIES.")
        } else {
            add("trusted_proxies", .pass, "Client IPs come from the socket or a trusted proxy",
                settings.trustedProxies.isEmpty ? "no proxy is trusted: the socket address is the client" : "\(settings.trustedProxies.count) trusted proxy block(s)")
        }

        if let base = settings.publicBaseURL, base.hasPrefix("https://") {
            add("public_base_url", .pass, "HTTPS only (HTTP redirects to HTTPS)", "PUBLIC_BASE_URL is https")
        } else {
            add("public_base_url", .fail, "HTTPS only (HTTP redirects to HTTPS)",
                settings.publicBaseURL == nil ? "PUBLIC_BASE_URL is not set" : "PUBLIC_BASE_URL is not https",
                fix: "Set PUBLIC_BASE_URL to the public https:// address; redirects and e-mailed links are built from it.")
        }

        switch database {
        case .unreachable:
            add("migrations", .fail, "Migrations applied", "the database cannot be reached",
                fix: "Check DATABASE_URL and that the database server is running, then run `zakops migrate`.")
        case .reachable(let state) where !state.isUsable:
            add("migrations", .fail, "Migrations applied", state.summary,
                fix: state.changed.isEmpty
                    ? "Run `zakops migrate` with this binary before starting it."
                    : "An applied migration differs from this binary's: deploy the binary that matches the database, never edit an applied migration.")
        case .reachable(let state) where !state.unknown.isEmpty:
            add("migrations", .warn, "Migrations applied", state.summary,
                fix: "The database is ahead of this binary: fine while an upgrade rolls out (expand/contract), not for long — deploy the release that knows them.")
        case .reachable(let state):
            add("migrations", .pass, "Migrations applied", state.summary)
        }

        switch settings.database {
        case .postgres(let location):
            if location.isLoopback || location.tls == .require {
                add("database_tls", .pass, "Database not publicly accessible",
                    location.isLoopback ? "PostgreSQL is on this machine" : "PostgreSQL TLS is required and verified")
            } else {
                add("database_tls", .fail, "Database not publicly accessible",
                    "PostgreSQL on another host without required TLS (sslmode=\(location.tls.rawValue))",
                    fix: "Remove sslmode from DATABASE_URL or set sslmode=require: TLS with certificate verification is the default for remote hosts.")
            }
            add("database_engine", .pass, "Load balancer configured", "PostgreSQL: several instances may run behind a load balancer")
        case .sqlite:
            add("database_tls", .pass, "Database not publicly accessible", "SQLite is a local file")
            add("database_engine", .warn, "Load balancer configured", "SQLite supports one instance only",
                fix: "Use PostgreSQL (DATABASE_URL=postgres://…) to run more than one instance.")
        }

        if settings.logLevel <= .debug {
            add("log_level", .warn, "Logging without sensitive data", "LOG_LEVEL=\(settings.logLevel.rawValue)",
                fix: "Use LOG_LEVEL=info or higher in production.")
        } else {
            add("log_level", .pass, "Logging without sensitive data", "LOG_LEVEL=\(settings.logLevel.rawValue)")
        }

        return PreflightReport(checks: checks)
    }

    private static func httpsCheck(_ settings: Settings, tls: TLSFinding) -> PreflightCheck {
        let item = "HTTPS only (HTTP redirects to HTTPS)"
        if case .usable = tls {
            return PreflightCheck(id: "https", status: .pass, item: item,
                                  detail: "ZakOps serves TLS on HTTPS_PORT \(settings.httpsPort); HTTP_PORT redirects there", fix: "")
        }
        if !settings.trustedProxies.isEmpty {
            return PreflightCheck(id: "https", status: .pass, item: item,
                                  detail: "TLS ends at a trusted proxy (TRUSTED_PROXIES); X-Forwarded-Proto: http is redirected", fix: "")
        }
        return PreflightCheck(id: "https", status: .fail, item: item, detail: "neither TLS_CERT_FILE/TLS_KEY_FILE nor TRUSTED_PROXIES is configured",
                              fix: "Set TLS_CERT_FILE and TLS_KEY_FILE, or terminate TLS at a load balancer and list its address in TRUSTED_PROXIES.")
    }

    private static func certificateCheck(_ tls: TLSFinding, now: Date) -> PreflightCheck? {
        let item = "HTTPS certificates valid"
        switch tls {
        case .notConfigured:
            return nil
        case .unusable:
            return PreflightCheck(id: "tls_certificate", status: .fail, item: item,
                                  detail: "TLS_CERT_FILE/TLS_KEY_FILE cannot be read or do not hold a PEM certificate chain and its key",
                                  fix: "Point TLS_CERT_FILE at the PEM chain (leaf first) and TLS_KEY_FILE at its PEM private key, readable by this user.")
        case .usable(let notValidAfter):
            let end = Timestamp.string(from: notValidAfter)
            if notValidAfter <= now {
                return PreflightCheck(id: "tls_certificate", status: .fail, item: item, detail: "the certificate expired at \(end)",
                                      fix: "Renew the certificate, replace the files and send SIGHUP (no restart needed).")
            }
            if notValidAfter.timeIntervalSince(now) < certificateWarningPeriod {
                return PreflightCheck(id: "tls_certificate", status: .warn, item: item, detail: "the certificate expires at \(end), within 14 days",
                                      fix: "Renew the certificate, replace the files and send SIGHUP (no restart needed).")
            }
            return PreflightCheck(id: "tls_certificate", status: .pass, item: item, detail: "valid until \(end)", fix: "")
        }
    }

    private static func rateLimitCheck(_ settings: Settings) -> PreflightCheck {
        let item = "Rate limiting on auth endpoints (10/min)"
        let values = "auth \(settings.rateLimitAuthPerMinute)/min, api \(settings.rateLimitAPIPerMinute)/min"
        guard settings.rateLimitEnabled else {
            return PreflightCheck(id: "rate_limits", status: .fail, item: item, detail: "RATE_LIMIT_ENABLED=false",
                                  fix: "Unset RATE_LIMIT_ENABLED (limits are on by default).")
        }
        if settings.rateLimitAuthPerMinute > 10 || settings.rateLimitAPIPerMinute > 60 {
            if settings.rateLimitAllowHigher {
                return PreflightCheck(id: "rate_limits", status: .warn, item: item, detail: "above the checklist's 10/60 by RATE_LIMIT_ALLOW_HIGHER: \(values)",
                                      fix: "Return to RATE_LIMIT_AUTH_PER_MINUTE=10 and RATE_LIMIT_API_PER_MINUTE=60 when the reason has passed.")
            }
            return PreflightCheck(id: "rate_limits", status: .fail, item: item, detail: "above the checklist's 10/60: \(values)",
                                  fix: "Lower the limits, or set RATE_LIMIT_ALLOW_HIGHER=true to accept higher ones deliberately.")
        }
        return PreflightCheck(id: "rate_limits", status: .pass, item: item, detail: values, fix: "")
    }
}
