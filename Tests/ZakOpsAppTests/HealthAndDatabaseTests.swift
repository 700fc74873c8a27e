import Foundation
import NIOCore
import ZakOpsHTTP
import HTTPTypes
import HummingbirdTesting
import Logging
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore
@testable import ZakOpsApp

@Suite("Health and database failures", .serverSlot)
struct HealthAndDatabaseTests {
    @Test("live and ready answer ok on a migrated database, and with newer migrations than the binary knows; ready names migrations when not migrated")
    func probes() async throws {
        try await TestServer.run { server in
            for path in ["/health/live", "/health/ready", "/health/startup"] {
                try await server.client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.text == #"{"status":"ok"}"#)
                }
            }
            // The next release migrated the database (expand/contract): this binary stays ready.
            try await server.database.autocommit { sql in
                try await sql.insert(into: "schema_migrations").columns("version", "checksum", "applied_at")
                    .values(SQLBind("9999_next_release"), SQLBind(String(repeating: "0", count: 64)), SQLBind(Timestamp.now())).run()
            }
            #expect(try await server.client.execute(uri: "/health/ready", method: .get).status == .ok)
        }
        try await TestServer.run(migrate: false) { server in
            try await server.client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.text == #"{"status":"unavailable","failing":"migrations"}"#)
            }
        }
    }

    /// A PostgreSQL URL with a generated user and password pointing at a port nothing listens on.
    static func unreachablePostgres() async throws -> (DatabaseLocation, [String: String]) {
        let user = "u" + RandomToken.base32(RandomToken.bytes(6))
        let password = "p" + RandomToken.base32(RandomToken.bytes(12))
        let port = try await ZakOpsProcess.freePort()
        let location = DatabaseLocation.postgres(PostgresLocation(
            host: "127.0.0.1", port: port, username: user, password: Secret(password),
            database: "zakops_missing", tls: .disable, tlsExplicit: true
        ))
        let secrets = ["url": TestDatabase.url(location), "user": user, "password": password, "port": String(port), "database": "zakops_missing"]
        return (location, secrets)
    }

    @Test("with PostgreSQL unreachable, answers are 503 and leak no connection detail, not even to the log")
    func unreachable() async throws {
        let (location, secrets) = try await Self.unreachablePostgres()
        try await TestServer.run(location: location, migrate: false, configure: { $0.databaseTimeout = .seconds(2) }) { server in
            try await server.client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.text == #"{"status":"unavailable","failing":"database"}"#)
                #expect(TestSecrets.leaks(response.text, secrets) == [])
            }
            try await server.client.execute(uri: "/api/test/db", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try #require(response.errorBody)
                #expect(body.error.code == "DATABASE_UNAVAILABLE")
                #expect(body.error.message == "Database connection error. Please try again later.")
                #expect(TestSecrets.leaks(response.text, secrets) == [])
                #expect(Leakage.inErrorBody(response.text) == [])
            }
            #expect(TestSecrets.leaks(server.log.text, ["password": secrets["password"]!]) == [])
        }
    }

    @Test("a real query against an unreachable PostgreSQL becomes StoreError.unavailable")
    func realQueryUnavailable() async throws {
        let (location, _) = try await Self.unreachablePostgres()
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let error = await #expect(throws: StoreError.self) {
            try await Database.withOpened(location, poolSize: 1, deadline: .seconds(2), logger: logger) { database in
                try await database.ping()
            }
        }
        guard case .unavailable = error else { Issue.record("expected unavailable"); return }
    }

    @Test("PostgreSQL with a wrong password: 503 everywhere, and the password reaches neither body nor log")
    func wrongPassword() async throws {
        guard TestDatabase.backend == .postgres, case .postgres(var location) = try await TestDatabase.fresh() else { return }
        let wrong = "w" + RandomToken.base32(RandomToken.bytes(12))
        location.password = Secret(wrong)
        try await TestServer.run(location: .postgres(location), migrate: false, configure: { $0.databaseTimeout = .seconds(2) }) { server in
            try await server.client.execute(uri: "/health/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.text == #"{"status":"unavailable","failing":"database"}"#)
            }
            try await server.client.execute(uri: "/api/test/db", method: .get) { response in
                #expect(response.errorBody?.error.code == "DATABASE_UNAVAILABLE")
                #expect(TestSecrets.leaks(response.text, ["password": wrong]) == [])
            }
            #expect(TestSecrets.leaks(server.log.text, ["password": wrong]) == [])
        }
    }

    @Test("PostgreSQL: a lock not granted within lock_timeout is 'unavailable' (503), not a 500", .enabled(if: TestDatabase.backend == .postgres))
    func lockTimeout() async throws {
        let location = try await TestDatabase.fresh()
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        // lock_timeout follows the connect deadline: 1 s.
        try await Database.withOpened(location, poolSize: 2, deadline: .seconds(1), logger: logger) { database in
            _ = try await MigrationRunner(database: database, logger: logger).migrate()
            let holding = AsyncStream<Void>.makeStream()
            let release = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await database.transaction { sql in
                    try await sql.raw("LOCK TABLE settings IN ACCESS EXCLUSIVE MODE").run()
                    holding.continuation.yield()
                    for await _ in release.stream { break }
                }
            }
            for await _ in holding.stream { break }
            await #expect(throws: StoreError.self) {
                try await database.transaction { sql in
                    try await sql.update("settings").set("value", to: SQLBind("x")).where("key", .equal, SQLBind("nothing")).run()
                }
            }
            release.continuation.yield()
            try await holder.value
        }
    }

    @Test("an error thrown inside a transaction comes out unchanged and the transaction is rolled back")
    func transactionErrors() async throws {
        let location = try await TestDatabase.fresh()
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        try await Database.withOpened(location, poolSize: 2, deadline: .seconds(5), logger: logger) { database in
            _ = try await MigrationRunner(database: database, logger: logger).migrate()
            let error = await #expect(throws: AppError.self) {
                try await database.transaction { sql in
                    try await sql.insert(into: "settings")
                        .columns("key", "value", "updated_at")
                        .values(SQLBind("outbox_paused"), SQLBind("true"), SQLBind(Timestamp.now()))
                        .run()
                    throw AppError(.conflict)
                }
            }
            #expect(error?.code == .conflict)
            let rows = try await database.read { sql in
                try await sql.select().column("key").from("settings").where("key", .equal, SQLBind("outbox_paused")).all().count
            }
            #expect(rows == 0)
        }
    }

    @Test("database settings: SQLite folder 0700 and file 0600, WAL and foreign keys on")
    func sqliteFiles() async throws {
        guard TestDatabase.backend == .sqlite else { return }
        try await TestSlots.enter("a test database")
        let folder = try TemporaryFolder.make().appendingPathComponent("data")
        let path = folder.appendingPathComponent("zakops.sqlite").path
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        try await Database.withOpened(.sqlite(path: path), poolSize: 1, deadline: .seconds(5), logger: logger) { database in
            let modes = try await database.read { sql in
                (try await sql.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self),
                 try await sql.raw("PRAGMA foreign_keys").first()?.decode(column: "foreign_keys", as: Int.self))
            }
            #expect(modes.0 == "wal")
            #expect(modes.1 == 1)
        }
        let folderMode = try FileManager.default.attributesOfItem(atPath: folder.path)[.posixPermissions] as? Int
        let fileMode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(folderMode == 0o700)
        #expect(fileMode == 0o600)
    }
}
