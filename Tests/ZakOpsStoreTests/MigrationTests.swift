import Foundation
import NIOCore
import Logging
import PostgresNIO
import SQLKit
import SQLiteNIO
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsStore

@Suite("Migrations", .serverSlot)
struct MigrationTests {
    let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("both dialects carry the same versions")
    func sameVersions() throws {
        let sqlite = try MigrationCatalog.migrations(for: .sqlite).map(\.version)
        let postgres = try MigrationCatalog.migrations(for: .postgres).map(\.version)
        #expect(sqlite == postgres)
        #expect(sqlite.starts(with: ["0001_create_operators", "0002_create_settings"]))
    }

    @Test("migrate applies every version once with its checksum; status lists them")
    func applyAndStatus() async throws {
        let location = try await TestDatabase.fresh()
        let logger = self.logger
        try await Database.withOpened(location, poolSize: 2, deadline: .seconds(10), logger: logger) { database in
            let runner = try MigrationRunner(database: database, logger: logger)
            #expect(try await runner.state().pending.count == runner.migrations.count)
            let applied = try await runner.migrate()
            #expect(applied == runner.migrations.map(\.version))
            #expect(try await runner.migrate() == [])
            #expect(try await runner.state().isCurrent)
            let status = try await runner.status()
            #expect(status.allSatisfy { $0.state == .applied })
            // The tables exist and e-mail uniqueness ignores case.
            try await database.transaction { sql in
                for email in ["Ann@Example.com"] {
                    try await sql.insert(into: "operators")
                        .columns("id", "email", "name", "role", "password_hash", "created_at", "updated_at")
                        .values(SQLBind("op_1"), SQLBind(email), SQLBind("Ann"), SQLBind("admin"), SQLBind("x"), SQLBind(Timestamp.now()), SQLBind(Timestamp.now()))
                        .run()
                }
            }
            let duplicate = await #expect(throws: (any Error).self) {
                try await database.transaction { sql in
                    try await sql.insert(into: "operators")
                        .columns("id", "email", "name", "role", "password_hash", "created_at", "updated_at")
                        .values(SQLBind("op_2"), SQLBind("ann@example.COM"), SQLBind("Ann"), SQLBind("admin"), SQLBind("x"), SQLBind(Timestamp.now()), SQLBind(Timestamp.now()))
                        .run()
                }
            }
            // A constraint violation from the driver, not a connection failure.
            #expect(duplicate is PSQLError || duplicate is SQLiteError)
        }
    }

    @Test("an applied migration whose file changed is detected, and migrate refuses to go on")
    func changedChecksum() async throws {
        let location = try await TestDatabase.fresh()
        let logger = self.logger
        try await Database.withOpened(location, poolSize: 2, deadline: .seconds(10), logger: logger) { database in
            let real = try MigrationCatalog.migrations(for: database.dialect)
            try await MigrationRunner(database: database, migrations: real, logger: logger).migrate()
            var edited = real
            edited[0] = Migration(version: real[0].version, sql: real[0].sql + "\n-- edited after it was applied\n")
            let runner = try MigrationRunner(database: database, migrations: edited, logger: logger)
            let state = try await runner.state()
            #expect(state.changed == [real[0].version])
            await #expect(throws: StoreError.self) { try await runner.migrate() }
            #expect(try await runner.status().first?.state == .changed)
        }
    }

    @Test("two runners at once apply each migration exactly once")
    func concurrentRunners() async throws {
        let location = try await TestDatabase.fresh()
        let logger = self.logger
        async let first = Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
            try await MigrationRunner(database: database, logger: logger).migrate()
        }
        async let second = Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
            try await MigrationRunner(database: database, logger: logger).migrate()
        }
        let (a, b) = try await (first, second)
        let all = try MigrationCatalog.migrations(for: location.dialectName == "sqlite" ? .sqlite : .postgres).map(\.version)
        #expect((a + b).sorted() == all.sorted())
    }

    @Test("several pools opening one new SQLite file at once all open it in WAL mode")
    func concurrentOpensOfNewFile() async throws {
        try await TestSlots.enter("test databases")
        for _ in 0..<5 {
            let path = try TemporaryFolder.make().appendingPathComponent("race.sqlite").path
            let logger = self.logger
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await Database.withOpened(.sqlite(path: path), poolSize: 2, deadline: .seconds(10), logger: logger) { database in
                            let mode = try await database.read { sql in
                                try await sql.raw("PRAGMA journal_mode").first()?.decode(column: "journal_mode", as: String.self)
                            }
                            #expect(mode == "wal")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("a failing migration is rolled back and not recorded")
    func failingMigration() async throws {
        let location = try await TestDatabase.fresh()
        let logger = self.logger
        try await Database.withOpened(location, poolSize: 2, deadline: .seconds(10), logger: logger) { database in
            let broken = [
                Migration(version: "0001_good_then_bad", sql: "CREATE TABLE half_done (id TEXT PRIMARY KEY);\nCREATE TABLE half_done (id TEXT PRIMARY KEY);\n"),
            ]
            let runner = try MigrationRunner(database: database, migrations: broken, logger: logger)
            await #expect(throws: (any Error).self) { try await runner.migrate() }
            #expect(try await runner.state().pending == ["0001_good_then_bad"])
            // The first statement was rolled back with the second.
            let retry = try MigrationRunner(database: database, migrations: [Migration(version: "0001_good_then_bad", sql: "CREATE TABLE half_done (id TEXT PRIMARY KEY);\n")], logger: logger)
            #expect(try await retry.migrate() == ["0001_good_then_bad"])
        }
    }
}
