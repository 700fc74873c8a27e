import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import Subprocess
import Testing
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// Encrypted backups through the real `zakops` binary and the real `age`, `pg_dump` and
/// `pg_restore`, on the backend under test.
@Suite("Encrypted backups", .serverSlot)
struct BackupTests {
    /// A fresh age key pair: the identity file and its public key.
    static func ageKey() async throws -> (identity: String, recipient: String) {
        let identity = try TemporaryFolder.make().appendingPathComponent("identity.txt").path
        let result = try await Subprocess.run(.name("age-keygen"), arguments: ["-o", identity], output: .discarded, error: .string(limit: 4096))
        let recipient = try #require(result.standardError.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })
        #expect(recipient.hasPrefix("age1"))
        return (identity, recipient)
    }

    /// Every table's content, one digest per table (rows in a canonical order).
    static func fingerprint(_ location: DatabaseLocation, tables: [String]) async throws -> [String: String] {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        return try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), create: false, logger: logger) { database in
            try await database.read { sql in
                var digests: [String: String] = [:]
                for table in tables {
                    let rows = try await sql.select().column(SQLLiteral.all).from(SQLIdentifier(table)).all().map { row in
                        row.allColumns.sorted().map { column -> String in
                            if (try? row.decodeNil(column: column)) == true { return "\(column)=null" }
                            if let text = try? row.decode(column: column, as: String.self) { return "\(column)=\(text)" }
                            if let number = try? row.decode(column: column, as: Int64.self) { return "\(column)=\(number)" }
                            if let flag = try? row.decode(column: column, as: Bool.self) { return "\(column)=\(flag)" }
                            if let number = try? row.decode(column: column, as: Double.self) { return "\(column)=\(number)" }
                            return "\(column)=?"
                        }.joined(separator: "|")
                    }.sorted()
                    digests[table] = "\(rows.count):" + SHA256.hash(data: Data(rows.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }.joined()
                }
                return digests
            }
        }
    }

    @Test("a backup taken while the server writes restores to a consistent state; a quiet one restores equal table by table; damage, a wrong identity and a non-empty target are refused")
    func roundTrip() async throws {
        let (identity, recipient) = try await Self.ageKey()
        let source = try await TestDatabase.fresh()
        let folder = try TemporaryFolder.make()
        try await TestServer.run(location: source, mailThroughOutbox: true) { server in
            let environment = ["DATABASE_URL": TestDatabase.url(source), "BACKUP_AGE_RECIPIENT": recipient, "LOG_LEVEL": "warning",
                               "SESSION_SECRET": try #require(server.settings.sessionSecret).value]
            let admin = try await server.login(try await server.createOperator(role: .admin))
            for index in 0..<5 { _ = try await DealsTests.create(server, admin, ["canonical_name": "Before \(index)"]) }
            _ = try await OutboxAndWebhookTests.createWebhook(server, admin, url: "https://hooks.example.com/zakops")

            // During a burst of writes.
            let burst = Task {
                for index in 0..<40 { _ = try await DealsTests.create(server, admin, ["canonical_name": "Burst \(index)"]) }
            }
            let during = folder.appendingPathComponent("during.age").path
            let taken = try await ZakOpsProcess.run(["backup", "create", "--out", during], environment: environment)
            #expect(taken.status == 0, "\(taken.stderr)")
            try await burst.value

            // Quiet: the database as it is now (the backup itself then records its success and
            // its audit entry, after the snapshot).
            let tables = try await Database.withOpened(source, poolSize: 1, deadline: .seconds(10), create: false,
                                                       logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })) { database in
                try await database.read { sql in
                    database.dialect == .postgres
                        ? try await BackupService.postgresTables(sql)
                        : try await sql.select().column("name").from("sqlite_master").where("type", .equal, SQLBind("table"))
                            .where("name", .notLike, SQLBind("sqlite_%")).all().map { try $0.decode(column: "name", as: String.self) }
                }
            }
            let original = try await Self.fingerprint(source, tables: tables)
            let quiet = folder.appendingPathComponent("quiet.age").path
            let manifestText = try await ZakOpsProcess.run(["backup", "create", "--out", quiet, "--json"], environment: environment)
            #expect(manifestText.status == 0, "\(manifestText.stderr)")
            let manifest = try JSONDecoder().decode(BackupService.Manifest.self, from: Data(manifestText.stdout.utf8))
            let latest = try MigrationCatalog.migrations(for: server.database.dialect).last?.version
            #expect(manifest.rowCounts["deals"] == 45 && manifest.schemaVersion == latest)
            // The file is encrypted: no deal name, no table name in it.
            let bytes = try Data(contentsOf: URL(fileURLWithPath: quiet))
            #expect(bytes.firstRange(of: Data("Before 1".utf8)) == nil && bytes.firstRange(of: Data("CREATE TABLE".utf8)) == nil)

            let target = try await TestDatabase.fresh()
            var restore = environment
            restore["DATABASE_URL"] = TestDatabase.url(target)
            let restored = try await ZakOpsProcess.run(["backup", "restore", quiet, "--identity", identity], environment: restore)
            #expect(restored.status == 0, "\(restored.stderr)")
            #expect(Set(manifest.rowCounts.keys) == Set(tables))
            #expect(try await Self.fingerprint(target, tables: tables) == original)
            // The restored trail verifies under the same key.
            #expect(try await ZakOpsProcess.run(["audit", "verify"], environment: restore).status == 0)

            // The backup taken during the burst is consistent: every deal with its creation
            // event and audit entry, and the chain whole.
            let busy = try await TestDatabase.fresh()
            restore["DATABASE_URL"] = TestDatabase.url(busy)
            #expect(try await ZakOpsProcess.run(["backup", "restore", during, "--identity", identity], environment: restore).status == 0)
            #expect(try await ZakOpsProcess.run(["audit", "verify"], environment: restore).status == 0)
            let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
            let (deals, events, entries) = try await Database.withOpened(busy, poolSize: 1, deadline: .seconds(10), create: false, logger: logger) { database in
                try await database.read { sql in
                    func count(_ table: String, _ column: String, _ value: String) async throws -> Int {
                        try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from(table)
                            .where(column, .equal, SQLBind(value)).first()?.decode(column: "n", as: Int.self) ?? 0
                    }
                    let deals = try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("deals").first()?
                        .decode(column: "n", as: Int.self) ?? 0
                    return (deals, try await count("event_log", "type", "deal.created"), try await count("audit_log", "action", "deal.created"))
                }
            }
            #expect(deals >= 5 && deals == events && deals == entries)

            // Refusals, each with a clear message.
            let other = try await Self.ageKey()
            let wrong = try await ZakOpsProcess.run(["backup", "verify", quiet, "--identity", other.identity], environment: environment)
            #expect(wrong.status != 0 && wrong.stderr.contains("does not open this backup"))
            var damaged = bytes
            damaged[damaged.count / 2] ^= 0x01
            let damagedPath = folder.appendingPathComponent("damaged.age").path
            try damaged.write(to: URL(fileURLWithPath: damagedPath))
            let flipped = try await ZakOpsProcess.run(["backup", "verify", damagedPath, "--identity", identity], environment: environment)
            #expect(flipped.status != 0 && flipped.stderr.contains("damaged or was changed"))
            restore["DATABASE_URL"] = TestDatabase.url(target)
            let occupied = try await ZakOpsProcess.run(["backup", "restore", quiet, "--identity", identity], environment: restore)
            #expect(occupied.status != 0 && occupied.stderr.contains("--force"))
            #expect(try await ZakOpsProcess.run(["backup", "restore", quiet, "--identity", identity, "--force"], environment: restore).status == 0)
            #expect(try await Self.fingerprint(target, tables: tables) == original)
        }
    }

    @Test("scheduled backups: taken when due on the manual clock, one at a time, the newest BACKUP_KEEP kept, each audited as system")
    func schedule() async throws {
        let (identity, recipient) = try await Self.ageKey()
        try await TestServer.run(configure: { $0.backupAgeRecipient = recipient }) { server in
            let folder = try TemporaryFolder.make().appendingPathComponent("backups").path
            let job = BackupJob(backups: BackupService(database: server.database, settings: server.settings, logger: Logger(label: "test.backup")),
                                database: server.database, folder: folder, every: 3600, keep: 2, clock: server.clock, logger: Logger(label: "test.backup"))
            let first = try #require(try await job.runIfDue())
            #expect(try await job.runIfDue() == nil, "not due again within the hour")
            server.clock.advance(by: 3601)
            _ = try #require(try await job.runIfDue())
            server.clock.advance(by: 3601)
            let third = try #require(try await job.runIfDue())
            let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
            #expect(files.count == 2 && !files.contains(URL(fileURLWithPath: first).lastPathComponent) && files.last == URL(fileURLWithPath: third).lastPathComponent)
            #expect(try FileManager.default.attributesOfItem(atPath: third)[.posixPermissions] as? Int == 0o600)
            #expect(try await BackupService.verify(file: third, identity: identity).dialect == server.database.dialect.rawValue)
            #expect(try await server.auditEntries("backup.created").map(\.actor) == ["system", "system", "system"])
            #expect(try await BackupService.lastSuccess(in: server.database) != nil)
        }
    }

    @Test("a backup from a newer schema or of the other database kind is refused before anything is written")
    func restorable() throws {
        let known = try MigrationCatalog.migrations(for: .sqlite).map(\.version)
        func manifest(_ dialect: String, _ schema: String) -> BackupService.Manifest {
            BackupService.Manifest(format: 1, dialect: dialect, schemaVersion: schema, createdAt: Timestamp.now(), rowCounts: [:], dumpBytes: 0,
                                   dumpSHA256: "", zakopsVersion: BuildInfo.version)
        }
        #expect(throws: Never.self) { try BackupService.checkRestorable(manifest("sqlite", try #require(known.last)), into: .sqlite, known: known) }
        let newer = #expect(throws: AppError.self) { try BackupService.checkRestorable(manifest("sqlite", "9999_from_the_future"), into: .sqlite, known: known) }
        #expect(newer?.problem?.contains("newer schema") == true)
        let other = #expect(throws: AppError.self) { try BackupService.checkRestorable(manifest("postgres", try #require(known.last)), into: .sqlite, known: known) }
        #expect(other?.problem?.contains("postgres backup") == true)
    }
}
