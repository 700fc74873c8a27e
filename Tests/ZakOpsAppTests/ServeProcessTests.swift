import Foundation
import NIOCore
import ZakOpsHTTP
import Logging
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore

/// The real binary: default start, production refusals, graceful exit on SIGTERM.
@Suite("zakops serve, migrate and preflight as processes", .serverSlot)
struct ServeProcessTests {
    /// A production environment that passes preflight, with a freshly migrated database.
    static func productionEnvironment(location: DatabaseLocation, port: Int) throws -> [String: String] {
        let secretFile = try TemporaryFolder.make().appendingPathComponent("session_secret")
        try TestSecrets.sessionSecret().write(to: secretFile, atomically: true, encoding: .utf8)
        let dataKeyFile = secretFile.deletingLastPathComponent().appendingPathComponent("data_key")
        try TestSecrets.dataKey().write(to: dataKeyFile, atomically: true, encoding: .utf8)
        return [
            "APP_ENV": "production",
            "HTTP_PORT": String(port),
            "DATABASE_URL": TestDatabase.url(location),
            "SESSION_SECRET_FILE": secretFile.path,
            "DATA_ENCRYPTION_KEY_FILE": dataKeyFile.path,
            "BACKUP_AGE_RECIPIENT": TestSecrets.ageRecipient(),
            "CORS_ORIGINS": "https://app.example.com",
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "PUBLIC_BASE_URL": "https://zakops.example.com",
        ]
    }

    static func migrated() async throws -> DatabaseLocation {
        let location = try await TestDatabase.fresh()
        let result = try await ZakOpsProcess.run(["migrate"], environment: ["DATABASE_URL": TestDatabase.url(location)])
        #expect(result.status == 0)
        return location
    }

    @Test("the default start creates data/zakops.sqlite and is ready; SIGHUP with nothing to reload leaves it serving; SIGTERM exits 0")
    func defaultStart() async throws {
        let folder = try TemporaryFolder.make()
        let port = try await ZakOpsProcess.freePort()
        let child = try await ZakOpsProcess(["serve"], environment: ["HTTP_PORT": String(port)], directory: folder)
        try await child.waitUntilListening(port: port)
        let ready = try await RawHTTP.get("/health/ready", port: port)
        #expect(ready.status == 200)
        #expect(ready.body == #"{"status":"ok"}"#)
        let data = folder.appendingPathComponent("data")
        #expect(try FileManager.default.attributesOfItem(atPath: data.path)[.posixPermissions] as? Int == 0o700)
        #expect(try FileManager.default.attributesOfItem(atPath: data.appendingPathComponent("zakops.sqlite").path)[.posixPermissions] as? Int == 0o600)
        // No secret files, no TLS: SIGHUP reloads nothing, and must not end the process (its
        // default action) — the runbooks send it to every instance.
        kill(child.pid, SIGHUP)
        try await Task.sleep(for: .milliseconds(500))
        #expect(child.isRunning)
        #expect(try await RawHTTP.get("/health/live", port: port).status == 200)
        child.terminate()
        #expect(try await child.wait(timeout: .seconds(30)) == 0)
    }

    @Test("a safe production start passes preflight and serves")
    func productionStarts() async throws {
        let location = try await Self.migrated()
        let port = try await ZakOpsProcess.freePort()
        let child = try await ZakOpsProcess(["serve"], environment: try Self.productionEnvironment(location: location, port: port))
        try await child.waitUntilListening(port: port)
        let ready = try await RawHTTP.get("/health/ready", port: port)
        #expect(ready.status == 200)
        child.terminate()
        #expect(try await child.wait(timeout: .seconds(30)) == 0)
        #expect(child.stderr.contains("preflight passed"))
    }

    static let unsafe: [(String, String?)] = [
        ("AUTH_REQUIRED", "false"),
        ("DEBUG", "true"),
        ("SESSION_SECRET_FILE", nil),
        ("DATA_ENCRYPTION_KEY_FILE", nil),
        ("BACKUP_AGE_RECIPIENT", nil),
        ("CORS_ORIGINS", nil),
        ("CORS_ORIGINS", "http://app.example.com"),
        ("PUBLIC_BASE_URL", "http://zakops.example.com"),
        ("TRUSTED_PROXIES", nil),
    ]

    @Test("production refuses to start, without binding its port, on each preflight FAIL", arguments: 0..<unsafe.count)
    func productionRefuses(index: Int) async throws {
        let (name, value) = Self.unsafe[index]
        let location = try await Self.migrated()
        let port = try await ZakOpsProcess.freePort()
        var environment = try Self.productionEnvironment(location: location, port: port)
        environment[name] = value
        let child = try await ZakOpsProcess(["serve"], environment: environment)
        var everListened = false
        let deadline = ContinuousClock.now + .seconds(60)
        while child.isRunning && ContinuousClock.now < deadline {
            if await RawHTTP.listening(port: port) { everListened = true }
            try await Task.sleep(for: .milliseconds(20))
        }
        let status = try await child.wait(timeout: .seconds(5))
        #expect(status != 0, "\(name)")
        #expect(!everListened, "\(name)")
        #expect(child.stderr.contains("refusing to start in production: preflight failed"), "\(name)")
        #expect(child.stderr.contains("FAIL"), "\(name)")
    }

    @Test("production refuses a session secret read from .env, and a weak one")
    func secretProvenance() async throws {
        let location = try await Self.migrated()
        var environment = try Self.productionEnvironment(location: location, port: try await ZakOpsProcess.freePort())
        environment["SESSION_SECRET_FILE"] = nil
        let folder = try TemporaryFolder.make()
        try "SESSION_SECRET=\(TestSecrets.sessionSecret())\n".write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let fromDotEnv = try await ZakOpsProcess.run(["serve"], environment: environment, directory: folder)
        #expect(fromDotEnv.status == 1)
        #expect(fromDotEnv.stderr.contains("read from a .env file: SESSION_SECRET"))

        environment["SESSION_SECRET"] = "change-me-" + RandomToken.base32(RandomToken.bytes(40))
        let weak = try await ZakOpsProcess.run(["serve"], environment: environment)
        #expect(weak.status == 1)
        #expect(weak.stderr.contains("SESSION_SECRET looks like an example or placeholder value"))
        #expect(TestSecrets.leaks(weak.stderr + weak.stdout, ["secret": environment["SESSION_SECRET"]!]) == [])
    }

    @Test("a changed migration checksum refuses a production start and names the migration")
    func changedChecksumRefuses() async throws {
        let location = try await Self.migrated()
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
            try await database.transaction { sql in
                try await sql.update("schema_migrations")
                    .set("checksum", to: SQLBind(String(repeating: "0", count: 64)))
                    .where("version", .equal, SQLBind("0001_create_operators"))
                    .run()
            }
        }
        let port = try await ZakOpsProcess.freePort()
        let result = try await ZakOpsProcess.run(["serve"], environment: try Self.productionEnvironment(location: location, port: port))
        #expect(result.status != 0)
        #expect(result.stderr.contains("checksum changed: 0001_create_operators"))
        let status = try await ZakOpsProcess.run(["migrate", "--status"], environment: ["DATABASE_URL": TestDatabase.url(location)])
        #expect(status.status != 0)
        #expect(status.stdout.contains("0001_create_operators  changed"))
    }

    @Test("production never creates a missing SQLite database: it reports it unreachable")
    func missingSQLiteFile() async throws {
        guard TestDatabase.backend == .sqlite else { return }
        let location = try await TestDatabase.fresh()
        guard case .sqlite(let path) = location else { return }
        let result = try await ZakOpsProcess.run(["serve"], environment: try Self.productionEnvironment(location: location, port: try await ZakOpsProcess.freePort()))
        #expect(result.status == 1)
        #expect(result.stderr.contains("the database cannot be reached"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test("production refuses to start with pending migrations and names them")
    func pendingRefuses() async throws {
        let location = try await TestDatabase.fresh()
        // An existing but empty database (a production check never creates one).
        try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })) { _ in }
        let result = try await ZakOpsProcess.run(["serve"], environment: try Self.productionEnvironment(location: location, port: try await ZakOpsProcess.freePort()))
        #expect(result.status != 0)
        #expect(result.stderr.contains("pending: 0001_create_operators, 0002_create_settings"))
    }

    @Test("preflight --json reports every check and exits 1 on a FAIL")
    func preflightJSON() async throws {
        let location = try await Self.migrated()
        var environment = try Self.productionEnvironment(location: location, port: try await ZakOpsProcess.freePort())
        let good = try await ZakOpsProcess.run(["preflight", "--json"], environment: environment)
        #expect(good.status == 0)
        struct Output: Decodable { let ok: Bool; let checks: [PreflightCheck] }
        let parsed = try JSONDecoder().decode(Output.self, from: Data(good.stdout.utf8))
        #expect(parsed.ok)
        #expect(Set(parsed.checks.map(\.id)).isSuperset(of: ["auth_required", "debug_off", "session_secret", "cors_origins", "https", "migrations"]))
        environment["DEBUG"] = "true"
        let bad = try await ZakOpsProcess.run(["preflight"], environment: environment)
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("FAIL  DEBUG=false"))
    }

    @Test("a malformed setting stops the start naming the setting, never a secret value")
    func malformedSetting() async throws {
        let password = "p" + RandomToken.base32(RandomToken.bytes(12))
        let result = try await ZakOpsProcess.run(["serve"], environment: ["HTTP_PORT": "eighty", "DATABASE_URL": "postgres://u:\(password)@db.internal/zakops"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("HTTP_PORT: must be a whole number"))
        let badURL = try await ZakOpsProcess.run(["serve"], environment: ["DATABASE_URL": "postgres://u:\(password)@db.internal/zakops?sslmode=bogus"])
        #expect(badURL.status == 2)
        #expect(badURL.stderr.contains("DATABASE_URL"))
        #expect(TestSecrets.leaks(badURL.stderr + badURL.stdout + result.stderr + result.stdout, ["password": password]) == [])
    }
}
