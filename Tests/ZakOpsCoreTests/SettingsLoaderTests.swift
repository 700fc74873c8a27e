import ZakOpsTestSupport
import Foundation
import Testing
@testable import ZakOpsCore

@Suite("Settings")
struct SettingsLoaderTests {
    private func load(_ environment: [String: String], flags: [String: String] = [:]) throws -> Settings {
        try SettingsLoader(input: SettingsInput(flags: flags, environment: environment)).load()
    }

    @Test("defaults are the documented safe ones")
    func defaults() throws {
        let settings = try load([:])
        #expect(settings.environment == .development)
        #expect(settings.httpHost == "127.0.0.1")
        #expect(settings.httpPort == 8080)
        #expect(settings.database == .sqlite(path: "data/zakops.sqlite"))
        #expect(settings.authRequired)
        #expect(!settings.debug)
        #expect(settings.bodyLimitBytes == 1_048_576)
        #expect(settings.xssProtection == .block)
        // The checklist's limits, on, with the login backoff.
        #expect(settings.rateLimitEnabled && settings.loginBackoffEnabled)
        #expect(settings.rateLimitAuthPerMinute == 10 && settings.rateLimitAPIPerMinute == 60)
        #expect(!settings.healthOnHTTP && settings.trustedProxies.isEmpty && settings.corsOrigins.isEmpty)
    }

    @Test("rate-limit and transport settings are read")
    func networkSettings() throws {
        let settings = try load([
            "RATE_LIMIT_AUTH_PER_MINUTE": "5", "RATE_LIMIT_API_PER_MINUTE": "30", "RATE_LIMIT_MAX_KEYS": "5000",
            "HEALTH_ON_HTTP": "true", "TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7",
        ])
        #expect(settings.rateLimitAuthPerMinute == 5 && settings.rateLimitAPIPerMinute == 30 && settings.rateLimitMaxKeys == 5000)
        #expect(settings.healthOnHTTP)
        #expect(settings.trustedProxies.map(\.description) == ["10.0.0.0/8", "192.168.1.7/32"])
    }

    @Test("a flag overrides the environment")
    func flagsWin() throws {
        let settings = try load(["HTTP_PORT": "9000"], flags: ["HTTP_PORT": "9100"])
        #expect(settings.httpPort == 9100)
    }

    @Test("malformed and unknown values stop the start and name the setting", arguments: [
        ("APP_ENV", "staging", "must be one of: development, production"),
        ("HTTP_PORT", "eighty", "must be a whole number from 0 to 65535"),
        ("HTTP_PORT", "70000", "must be a whole number from 0 to 65535"),
        ("AUTH_REQUIRED", "maybe", "must be true or false"),
        ("LOG_LEVEL", "loud", "must be one of"),
        ("CORS_ORIGINS", "*", "exact origins"),
        ("CORS_ORIGINS", "https://app.example.com/", "exact origins"),
        ("TRUSTED_PROXIES", "10.0.0.0/33", "CIDR"),
        ("PUBLIC_BASE_URL", "zakops.example.com", "absolute http(s) URL"),
        ("DATABASE_URL", "mysql://u:p@h/db", "must start with sqlite: or postgres://"),
        ("XSS_PROTECTION", "maybe", "must be one of: block, off"),
    ])
    func malformed(name: String, value: String, reason: String) throws {
        let error = #expect(throws: SettingsError.self) { try load([name: value]) }
        #expect(error?.setting == name)
        #expect(error?.reason.contains(reason) == true)
    }

    @Test("a malformed database URL never repeats the password")
    func databaseURLErrorHidesPassword() throws {
        let password = RandomToken.base32(RandomToken.bytes(12))
        let error = #expect(throws: SettingsError.self) { try load(["DATABASE_URL": "postgres://zakops:\(password)@db.internal/zakops?sslmode=sometimes"]) }
        #expect(error?.setting == "DATABASE_URL")
        let leaked = error.map { TestLeak.found(in: $0.description, password) } ?? false
        #expect(!leaked)
    }

    @Test("secrets may come from NAME_FILE, and the source is recorded")
    func secretFromFile() throws {
        let secret = RandomToken.base32(RandomToken.bytes(40))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("zakops-secret-" + RandomToken.base32(RandomToken.bytes(6)))
        try (secret + "\n").write(to: file, atomically: true, encoding: .utf8)
        let settings = try load(["SESSION_SECRET_FILE": file.path])
        #expect(settings.sessionSecret?.value == secret)
        #expect(settings.secretSources["SESSION_SECRET"] == .file)
        #expect("\(settings.sessionSecret!)" == "[REDACTED]")
    }

    @Test("setting both NAME and NAME_FILE is refused")
    func bothForms() throws {
        let error = #expect(throws: SettingsError.self) { try load(["SESSION_SECRET": "x", "SESSION_SECRET_FILE": "/nonexistent"]) }
        #expect(error?.setting == "SESSION_SECRET")
    }

    @Test("an unreadable NAME_FILE names the setting")
    func unreadableFile() throws {
        let error = #expect(throws: SettingsError.self) { try load(["SESSION_SECRET_FILE": "/nonexistent/zakops-secret"]) }
        #expect(error?.setting == "SESSION_SECRET_FILE")
    }

    @Test("a secret written in .env is recorded as coming from the .env file")
    func dotEnvProvenance() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("zakops-env-" + RandomToken.base32(RandomToken.bytes(6)))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(".env").path
        try "SESSION_SECRET=\(RandomToken.base32(RandomToken.bytes(40)))\nHTTP_PORT=8181\n".write(toFile: path, atomically: true, encoding: .utf8)
        let input = try await SettingsInput.load(flags: [:], environment: [:], dotEnvPath: path)
        let settings = try SettingsLoader(input: input).load()
        #expect(settings.httpPort == 8181)
        #expect(settings.secretSources["SESSION_SECRET"] == .dotEnvFile)
        #expect(settings.dotEnvFileLoaded)
    }

    @Test("PostgreSQL TLS is required by default except on loopback")
    func postgresTLSDefaults() throws {
        guard case .postgres(let remote) = try DatabaseLocation.parse("postgres://u:p@db.internal:5433/zakops") else { Issue.record("not postgres"); return }
        #expect(remote.tls == .require)
        #expect(remote.port == 5433)
        #expect(remote.database == "zakops")
        guard case .postgres(let local) = try DatabaseLocation.parse("postgres://u@127.0.0.1/zakops") else { Issue.record("not postgres"); return }
        #expect(local.tls == .prefer)
        #expect(local.isLoopback)
        guard case .postgres(let explicit) = try DatabaseLocation.parse("postgres://u@db.internal/zakops?sslmode=disable") else { Issue.record("not postgres"); return }
        #expect(explicit.tls == .disable)
        #expect(!explicit.isLoopback)
    }

    @Test("a database password with %, @ and / is decoded exactly once")
    func percentEncodedPassword() throws {
        guard case .postgres(let location) = try DatabaseLocation.parse("postgres://zak%40ops:50%25off%2F%40x%2541@db.internal/zakops") else {
            Issue.record("not postgres"); return
        }
        #expect(location.username == "zak@ops")
        let decoded = location.password?.value == "50%off/@x%41"
        #expect(decoded)
    }

    @Test("CIDR blocks contain what they should")
    func cidr() throws {
        let block = try #require(CIDR("10.0.0.0/8"))
        #expect(block.contains(IPAddress("10.1.2.3")!))
        #expect(!block.contains(IPAddress("11.0.0.1")!))
        let v6 = try #require(CIDR("fd00::/8"))
        #expect(v6.contains(IPAddress("fd12::1")!))
        #expect(!v6.contains(IPAddress("10.1.2.3")!))
        #expect(CIDR("127.0.0.1")?.contains(IPAddress("::ffff:127.0.0.1")!) == true)
    }
}

/// Checks for a secret without printing it in a failed expectation.
enum TestLeak {
    static func found(in text: String, _ secret: String) -> Bool { text.contains(secret) }
}
