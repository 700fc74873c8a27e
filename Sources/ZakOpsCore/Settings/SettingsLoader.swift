import Foundation
import Logging

/// Turns raw input into typed `Settings`. A malformed value stops here with a `SettingsError`
/// that names the setting and the rule, and never the value (it may be a secret).
public struct SettingsLoader: Sendable {
    let input: SettingsInput

    public init(input: SettingsInput) {
        self.input = input
    }

    /// Reads and validates every setting.
    public func load() throws -> Settings {
        var settings = Settings()
        settings.dotEnvFileLoaded = input.dotEnvFileLoaded
        if let env = try enumValue("APP_ENV", AppEnvironment.self) { settings.environment = env }
        if let host = plain("HTTP_HOST") { settings.httpHost = host }
        if let port = try int("HTTP_PORT", in: 0...65535) { settings.httpPort = port }
        if let port = try int("HTTPS_PORT", in: 0...65535) { settings.httpsPort = port }
        if let url = try secret("DATABASE_URL", settings: &settings) {
            settings.database = try DatabaseLocation.parse(url.value)
        }
        if let size = try int("DATABASE_POOL_SIZE", in: 1...500) { settings.databasePoolSize = size }
        if let seconds = try int("DATABASE_TIMEOUT_SECONDS", in: 1...300) { settings.databaseTimeout = .seconds(seconds) }
        if let seconds = try int("HTTP_IDLE_TIMEOUT_SECONDS", in: 1...3600) { settings.httpIdleTimeout = .seconds(seconds) }
        if let seconds = try int("DATABASE_STATEMENT_TIMEOUT_SECONDS", in: 1...3600) { settings.databaseStatementTimeout = .seconds(seconds) }
        if let value = try bool("AUTH_REQUIRED") { settings.authRequired = value }
        if let value = try bool("DEBUG") { settings.debug = value }
        settings.sessionSecret = try secret("SESSION_SECRET", settings: &settings)
        settings.sessionSecretPrevious = try secret("SESSION_SECRET_PREVIOUS", settings: &settings)
        settings.dataEncryptionKey = try secret("DATA_ENCRYPTION_KEY", settings: &settings)
        settings.dataEncryptionKeyPrevious = try secret("DATA_ENCRYPTION_KEY_PREVIOUS", settings: &settings)
        settings.auditHMACKey = try secret("AUDIT_HMAC_KEY", settings: &settings)
        settings.auditHMACKeyPrevious = try secret("AUDIT_HMAC_KEY_PREVIOUS", settings: &settings)
        if let key = settings.dataEncryptionKey { _ = try DataKeyRing.keyBytes(key, setting: "DATA_ENCRYPTION_KEY") }
        if let key = settings.dataEncryptionKeyPrevious { _ = try DataKeyRing.keyBytes(key, setting: "DATA_ENCRYPTION_KEY_PREVIOUS") }
        if let value = try int("RUNTIME_POLL_INTERVAL_MS", in: 50...1_000) { settings.runtimePollIntervalMilliseconds = value }
        if let value = try bool("RETENTION_JOB") { settings.retentionJob = value }
        if let host = plain("METRICS_HOST") { settings.metricsHost = host }
        if let port = try int("METRICS_PORT", in: 0...65535) { settings.metricsPort = port }
        settings.metricsToken = try secret("METRICS_TOKEN", settings: &settings)
        if let value = try bool("METRICS_ON_MAIN_PORT") { settings.metricsOnMainPort = value }
        if settings.metricsOnMainPort && settings.metricsToken == nil {
            throw SettingsError(setting: "METRICS_ON_MAIN_PORT", reason: "needs METRICS_TOKEN: the public listener never serves /metrics without one")
        }
        if let value = try bool("ALERTS_EMBEDDED") { settings.alertsEmbedded = value }
        if let value = try int("ALERT_EVALUATION_SECONDS", in: 1...300) { settings.alertEvaluationSeconds = value }
        if let url = plain("ALERT_WEBHOOK_URL") { settings.alertWebhookURL = try absoluteURL(url, setting: "ALERT_WEBHOOK_URL", example: "https://alerts.example.com/zakops") }
        settings.alertWebhookSecret = try secret("ALERT_WEBHOOK_SECRET", settings: &settings)
        if settings.alertWebhookURL != nil {
            guard let secret = settings.alertWebhookSecret else {
                throw SettingsError(setting: "ALERT_WEBHOOK_SECRET", reason: "is needed with ALERT_WEBHOOK_URL: alert notifications are signed")
            }
            guard secret.value.hasPrefix("whsec_"), let key = Data(base64Encoded: String(secret.value.dropFirst(6))), key.count >= 24 else {
                throw SettingsError(setting: "ALERT_WEBHOOK_SECRET", reason: "must be whsec_ and the base64 of at least 24 random bytes (Standard Webhooks)")
            }
        }
        if let email = plain("ALERT_EMAIL") {
            guard email.contains("@"), !email.contains(where: { $0.isWhitespace || $0 == "," || $0 == "<" || $0 == ">" }) else {
                throw SettingsError(setting: "ALERT_EMAIL", reason: "must be one e-mail address")
            }
            settings.alertEmail = email
        }
        if let hours = try int("BACKUP_SCHEDULE_HOURS", in: 1...168) { settings.backupScheduleHours = hours }
        if let folder = plain("BACKUP_DIR") { settings.backupDirectory = folder }
        if let keep = try int("BACKUP_KEEP", in: 1...10_000) { settings.backupKeep = keep }
        if let recipient = plain("BACKUP_AGE_RECIPIENT") {
            // An X25519 recipient: "age1" and 58 bech32 characters.
            guard recipient.hasPrefix("age1"), recipient.count == 62,
                  recipient.dropFirst(4).allSatisfy({ "qpzry9x8gf2tvdw0s3jn54khce6mua7l".contains($0) }) else {
                throw SettingsError(setting: "BACKUP_AGE_RECIPIENT", reason: "must be an age public key (age1…, as age-keygen prints it)")
            }
            settings.backupAgeRecipient = recipient
        }
        for setting in RetentionPolicy.settings {
            if let days = try int(setting.name, in: setting.minimum...36_500) { settings.retention[keyPath: setting.keyPath] = days }
        }
        if let days = try int("API_KEY_MAX_AGE_DAYS", in: 1...365) { settings.apiKeyMaxAgeDays = days }
        if let days = try int("ACCESS_REVIEW_INACTIVE_DAYS", in: 1...3650) { settings.accessReviewInactiveDays = days }
        if let days = try int("SECRET_MAX_AGE_DAYS", in: 1...3650) { settings.secretMaxAgeDays = days }
        if let minutes = try int("SESSION_IDLE_MINUTES", in: 1...1440) { settings.sessionIdleTimeout = .seconds(minutes * 60) }
        if let cost = try int("PASSWORD_HASH_COST", in: 10...16) { settings.passwordHashCost = cost }
        if let value = try bool("ALLOW_REGISTRATION") { settings.allowRegistration = value }
        if let folder = plain("MAIL_DIR") { settings.mailDirectory = folder }
        if let origins = plain("CORS_ORIGINS") { settings.corsOrigins = try corsOrigins(origins) }
        if let proxies = plain("TRUSTED_PROXIES") { settings.trustedProxies = try cidrs("TRUSTED_PROXIES", proxies) }
        if let url = plain("PUBLIC_BASE_URL") { settings.publicBaseURL = try baseURL(url) }
        settings.tlsCertFile = plain("TLS_CERT_FILE")
        settings.tlsKeyFile = plain("TLS_KEY_FILE")
        if (settings.tlsCertFile == nil) != (settings.tlsKeyFile == nil) {
            throw SettingsError(setting: settings.tlsCertFile == nil ? "TLS_CERT_FILE" : "TLS_KEY_FILE", reason: "TLS_CERT_FILE and TLS_KEY_FILE must be set together")
        }
        if let hours = try int("ACTION_APPROVAL_TTL_HOURS", in: 1...720) { settings.actionApprovalTTL = .seconds(hours * 3600) }
        if let value = try int("OUTBOX_BASE_BACKOFF_SECONDS", in: 1...3600) { settings.outboxBaseBackoffSeconds = value }
        if let value = try int("OUTBOX_MAX_BACKOFF_SECONDS", in: 1...86_400) { settings.outboxMaxBackoffSeconds = value }
        if let value = try int("OUTBOX_MAX_ATTEMPTS", in: 1...100) { settings.outboxMaxAttempts = value }
        if let value = try int("OUTBOX_POLL_INTERVAL_MS", in: 10...60_000) { settings.outboxPollIntervalMilliseconds = value }
        if let value = try int("OUTBOX_BATCH_SIZE", in: 1...1_000) { settings.outboxBatchSize = value }
        if let value = try int("OUTBOX_LEASE_SECONDS", in: 5...3600) { settings.outboxLeaseSeconds = value }
        if let value = try bool("OUTBOX_PROCESSOR") { settings.outboxProcessor = value }
        if let value = try enumValue("MAIL_BACKEND", MailBackend.self) { settings.mailBackend = value }
        if let value = plain("SENDMAIL_PATH") { settings.sendmailPath = value }
        if let value = plain("MAIL_FROM") { settings.mailFrom = value }
        if let value = try int("SSE_HEARTBEAT_SECONDS", in: 1...300) { settings.sseHeartbeatSeconds = value }
        if let value = try int("SSE_REPLAY_HOURS", in: 1...168) { settings.sseReplayHours = value }
        if let value = try int("SSE_MAX_CONNECTIONS_PER_USER", in: 1...100_000) { settings.sseMaxConnectionsPerUser = value }
        if let value = try int("SSE_MAX_CONNECTIONS", in: 1...1_000_000) { settings.sseMaxConnections = value }
        if let value = try int("SSE_BUFFER_EVENTS", in: 1...100_000) { settings.sseBufferEvents = value }
        if let value = try int("SSE_POLL_INTERVAL_MS", in: 10...10_000) { settings.ssePollIntervalMilliseconds = value }
        if let value = try bool("WEBHOOK_ALLOW_PRIVATE") { settings.webhookAllowPrivate = value }
        if let value = try int("WEBHOOK_TIMEOUT_SECONDS", in: 1...120) { settings.webhookTimeoutSeconds = value }
        if let value = try bool("HEALTH_ON_HTTP") { settings.healthOnHTTP = value }
        if let value = try bool("RATE_LIMIT_ENABLED") { settings.rateLimitEnabled = value }
        if let value = try int("RATE_LIMIT_AUTH_PER_MINUTE", in: 1...1_000_000) { settings.rateLimitAuthPerMinute = value }
        if let value = try int("RATE_LIMIT_API_PER_MINUTE", in: 1...1_000_000) { settings.rateLimitAPIPerMinute = value }
        if let value = try bool("RATE_LIMIT_ALLOW_HIGHER") { settings.rateLimitAllowHigher = value }
        if let value = try int("RATE_LIMIT_MAX_KEYS", in: 1_000...10_000_000) { settings.rateLimitMaxKeys = value }
        // At most 5 s: the bound on how long a revoked credential is still honoured elsewhere.
        if let seconds = try int("AUTH_CACHE_SECONDS", in: 0...5) { settings.authCacheTTL = .seconds(seconds) }
        if let value = try int("AUTH_CACHE_MAX_ENTRIES", in: 100...1_000_000) { settings.authCacheMaxEntries = value }
        if let limit = try int("HTTP_BODY_LIMIT_BYTES", in: 1024...(64 * 1_048_576)) { settings.bodyLimitBytes = limit }
        if let seconds = try int("SHUTDOWN_GRACE_SECONDS", in: 0...600) { settings.shutdownGrace = .seconds(seconds) }
        if let level = try enumValue("LOG_LEVEL", Logger.Level.self) { settings.logLevel = level }
        if let mode = try enumValue("XSS_PROTECTION", XSSProtection.self) { settings.xssProtection = mode }
        if let form = try enumValue("LOG_CLIENT_IP", LogClientIP.self) { settings.logClientIP = form }
        return settings
    }

    private func plain(_ name: String) -> String? {
        input.value(name)?.value.trimmingCharacters(in: .whitespaces)
    }

    private func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = plain(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw SettingsError(setting: name, reason: "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    private func bool(_ name: String) throws -> Bool? {
        guard let text = plain(name)?.lowercased() else { return nil }
        switch text {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw SettingsError(setting: name, reason: "must be true or false")
        }
    }

    private func enumValue<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = plain(name) else { return nil }
        guard let value = T(rawValue: text.lowercased()) else {
            let allowed = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw SettingsError(setting: name, reason: "must be one of: \(allowed)")
        }
        return value
    }

    /// A secret from `NAME` or from the file `NAME_FILE` names (not both), recording its source.
    private func secret(_ name: String, settings: inout Settings) throws -> Secret? {
        let direct = input.value(name)
        let file = input.value(name + "_FILE")
        if direct != nil && file != nil {
            throw SettingsError(setting: name, reason: "set either \(name) or \(name)_FILE, not both")
        }
        if let direct {
            settings.secretSources[name] = direct.source
            return Secret(direct.value)
        }
        guard let file else { return nil }
        let secret = try Self.readSecretFile(file.value, setting: name + "_FILE")
        // A `NAME_FILE` itself written in `.env` still counts as coming from the file it names.
        settings.secretSources[name] = .file
        settings.secretFiles[name] = file.value
        return secret
    }

    /// Reads a secret file: its whole content, without the trailing line break.
    public static func readSecretFile(_ path: String, setting: String) throws -> Secret {
        guard let data = FileManager.default.contents(atPath: path), var text = String(data: data, encoding: .utf8) else {
            throw SettingsError(setting: setting, reason: "the file it names cannot be read")
        }
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        guard !text.isEmpty else {
            throw SettingsError(setting: setting, reason: "the file it names is empty")
        }
        return Secret(text)
    }

    private func corsOrigins(_ text: String) throws -> [String] {
        let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for origin in origins {
            guard origin != "*", origin != "null",
                  let components = URLComponents(string: origin),
                  let scheme = components.scheme, scheme == "https" || scheme == "http",
                  let host = components.host, !host.isEmpty,
                  components.path.isEmpty, components.query == nil, components.fragment == nil, components.user == nil
            else {
                throw SettingsError(setting: "CORS_ORIGINS", reason: "must be a comma-separated list of exact origins such as https://app.example.com (no *, null, paths or trailing slashes)")
            }
        }
        return origins
    }

    private func cidrs(_ name: String, _ text: String) throws -> [CIDR] {
        try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { item in
            guard let cidr = CIDR(item) else {
                throw SettingsError(setting: name, reason: "must be a comma-separated list of IP addresses or CIDR blocks such as 10.0.0.0/8")
            }
            return cidr
        }
    }

    private func baseURL(_ text: String) throws -> String {
        let url = try absoluteURL(text, setting: "PUBLIC_BASE_URL", example: "https://zakops.example.com")
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// An absolute http(s) URL with a host, no query, fragment or credentials.
    private func absoluteURL(_ text: String, setting: String, example: String) throws -> String {
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, scheme == "https" || scheme == "http",
              let host = components.host, !host.isEmpty,
              components.query == nil, components.fragment == nil, components.user == nil
        else {
            throw SettingsError(setting: setting, reason: "must be an absolute http(s) URL such as \(example)")
        }
        return text
    }
}
