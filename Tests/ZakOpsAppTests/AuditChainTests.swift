import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// The tamper-evident audit trail, attacked the way its owner could: straight in the database,
/// with the triggers out of the way.
@Suite("Audit chain, export and retention", .serverSlot)
struct AuditChainTests {
    /// Drops the append-only guards, as the table's owner can.
    static func unguard(_ server: TestServer) async throws {
        try await server.database.autocommit { sql in
            switch server.database.dialect {
            case .postgres:
                try await sql.raw("ALTER TABLE audit_log DISABLE TRIGGER USER").run()
            case .sqlite:
                try await sql.raw("DROP TRIGGER IF EXISTS audit_log_no_update").run()
                try await sql.raw("DROP TRIGGER IF EXISTS audit_log_no_delete").run()
            }
        }
    }

    static func verification(_ server: TestServer, _ admin: BrowserSession) async throws -> [String: Any] {
        let response = try await server.send(.get, "/api/admin/audit/verify", as: admin)
        #expect(response.status == .ok)
        return try TestServer.object(response)
    }

    /// An admin and a few audited changes; the numbers of the entries.
    static func trail(_ server: TestServer) async throws -> (BrowserSession, [Int64]) {
        let admin = try await server.login(try await server.createOperator(role: .admin))
        for index in 0..<6 { _ = try await DealsTests.create(server, admin, ["canonical_name": "Chained \(index)"]) }
        let numbers = try await server.database.read { sql in
            try await sql.select().column("seq").from("audit_log").orderBy("seq").all().map { try $0.decode(column: "seq", as: Int64.self) }
        }
        return (admin, numbers)
    }

    @Test("the chain names the first entry changed, removed, inserted or reordered", arguments: ["changed", "removed", "inserted", "reordered"])
    func tampering(kind: String) async throws {
        try await TestServer.run { server in
            let (admin, numbers) = try await Self.trail(server)
            let intact = try await Self.verification(server, admin)
            #expect(intact["ok"] as? Bool == true && intact["checked"] as? Int == numbers.count)
            let target = numbers[3]
            try await Self.unguard(server)
            try await server.database.transaction { sql in
                switch kind {
                case "changed":
                    try await sql.update("audit_log").set("action", to: SQLBind("deal.forged")).where("seq", .equal, SQLBind(target)).run()
                case "removed":
                    try await sql.delete(from: "audit_log").where("seq", .equal, SQLBind(target)).run()
                case "inserted":
                    // Make room (in two steps: a unique index checks every row as it goes), then
                    // put an entry in with a MAC copied from another.
                    try await sql.update("audit_log").set("seq", to: SQLBinaryExpression(SQLColumn("seq"), .add, SQLLiteral.numeric("1000000")))
                        .where("seq", .greaterThanOrEqual, SQLBind(target)).run()
                    try await sql.update("audit_log").set("seq", to: SQLBinaryExpression(SQLColumn("seq"), .subtract, SQLLiteral.numeric("999999")))
                        .where("seq", .greaterThan, SQLBind(Int64(1_000_000))).run()
                    let donor = try #require(try await sql.select().columns(AuditChain.columns.map { SQLColumn($0) }).from("audit_log")
                        .where("seq", .equal, SQLBind(target - 1)).first().map(AuditChain.Entry.init(row:)))
                    try await sql.insert(into: "audit_log").columns(AuditChain.columns)
                        .values(SQLBind(target), SQLBind("aud_forgedentry0000"), SQLBind(donor.occurredAt), SQLBind(donor.actorID), SQLBind(donor.actorKind),
                                SQLBind("deal.deleted"), SQLBind(donor.targetKind), SQLBind(donor.targetID), SQLBind("{}"), SQLBind(String?.none),
                                SQLBind(String?.none), SQLBind(donor.mac), SQLBind(donor.macKey))
                        .run()
                    try await sql.update("event_sequence").set("audit_value", to: SQLBinaryExpression(SQLColumn("audit_value"), .add, SQLLiteral.numeric("1"))).run()
                default:
                    try await sql.update("audit_log").set("seq", to: SQLBind(Int64(0))).where("seq", .equal, SQLBind(target)).run()
                    try await sql.update("audit_log").set("seq", to: SQLBind(target)).where("seq", .equal, SQLBind(target + 1)).run()
                    try await sql.update("audit_log").set("seq", to: SQLBind(target + 1)).where("seq", .equal, SQLBind(Int64(0))).run()
                }
            }
            let broken = try await Self.verification(server, admin)
            #expect(broken["ok"] as? Bool == false)
            let problem = try #require(broken["problem"] as? [String: Any])
            #expect(problem["kind"] as? String == kind, "\(problem)")
            #expect((problem["seq"] as? NSNumber)?.int64Value == target)
        }
    }

    @Test("UPDATE, DELETE and TRUNCATE are refused; no session setting opens deletion any more")
    func guards() async throws {
        try await TestServer.run { server in
            let (_, numbers) = try await Self.trail(server)
            await #expect(throws: (any Error).self) {
                try await server.database.transaction { sql in try await sql.update("audit_log").set("action", to: SQLBind("forged")).run() }
            }
            await #expect(throws: (any Error).self) {
                try await server.database.transaction { sql in try await sql.delete(from: "audit_log").run() }
            }
            if server.database.dialect == .postgres {
                await #expect(throws: (any Error).self) {
                    try await server.database.transaction { sql in try await sql.raw("TRUNCATE audit_log").run() }
                }
                await #expect(throws: (any Error).self) {
                    try await server.database.transaction { sql in
                        try await sql.raw("SET LOCAL zakops.audit_retention = 'on'").run()
                        try await sql.delete(from: "audit_log").run()
                    }
                }
                await #expect(throws: (any Error).self) {
                    try await server.database.transaction { sql in try await sql.raw("TRUNCATE audit_checkpoints").run() }
                }
            }
            #expect(try await server.count("audit_log") == numbers.count)
        }
    }

    @Test("an export verifies offline and fails after one changed byte; it is audited and refused during a lockdown")
    func export() async throws {
        try await TestServer.run { server in
            let (admin, numbers) = try await Self.trail(server)
            let response = try await server.send(.get, "/api/admin/audit/export", as: admin)
            #expect(response.status == .ok && response.headers[.contentType]?.hasPrefix("application/x-ndjson") == true)
            let data = Data(response.body.readableBytesView)
            let keys = server.settings.auditKeyRing
            #expect(AuditExport.verify(data, keys: keys) == [])
            let lines = response.text.split(separator: "\n")
            #expect(lines.count == numbers.count + 1 && lines.last?.hasPrefix(#"{"manifest":"#) == true)
            var flipped = data
            let index = try #require(flipped.firstRange(of: Data("Chained 2".utf8))).lowerBound
            flipped[index] = UInt8(ascii: "c")
            #expect(!AuditExport.verify(flipped, keys: keys).isEmpty)
            #expect(!AuditExport.verify(data, keys: KeyRing(current: Secret(TestSecrets.sessionSecret()), purpose: .audit)).isEmpty,
                    "another key cannot vouch for it")
            #expect(try await server.auditEntries("audit.exported").count == 1)

            _ = try await IncidentService(database: server.database, users: server.components.users).setLockdown(true, at: Date())
            server.components.runtime.wake()
            let refused = try await IncidentPlaybookTests.within(.seconds(3)) {
                try await server.send(.get, "/api/admin/audit/export", as: admin).status == .serviceUnavailable
            }
            #expect(refused != nil)

            // From the command line, offline.
            let file = try TemporaryFolder.make().appendingPathComponent("audit.jsonl")
            let environment = ["DATABASE_URL": TestDatabase.url(server.settings.database), "SESSION_SECRET": try #require(server.settings.sessionSecret).value,
                               "LOG_LEVEL": "warning"]
            #expect(try await ZakOpsProcess.run(["audit", "export", "--out", file.path], environment: environment).status == 0)
            #expect(try await ZakOpsProcess.run(["audit", "verify", "--export", file.path], environment: environment).status == 0)
            var bytes = try Data(contentsOf: file)
            bytes[bytes.count / 3] ^= 0x01
            try bytes.write(to: file)
            #expect(try await ZakOpsProcess.run(["audit", "verify", "--export", file.path], environment: environment).status != 0)
            let verified = try await ZakOpsProcess.run(["audit", "verify"], environment: environment)
            #expect(verified.status == 0 && verified.stdout.contains("audit chain verified"))
        }
    }

    @Test("retention purges exactly what is due on the manual clock, its dry run changes nothing, and the chain still verifies behind a checkpoint")
    func retention() async throws {
        try await TestServer.run(configure: { $0.retention.auditDays = 365 }) { server in
            let old = try await server.createOperator(role: .admin)
            let oldSession = try await server.login(old)
            let leaver = try await server.createOperator(role: .viewer)
            let doomed = try DealsTests.json(try await DealsTests.create(server, oldSession, ["canonical_name": "Old deal"]))["id"] as? String
            #expect(try await server.send(.delete, "/api/deals/\(try #require(doomed))", as: oldSession).status == .noContent)
            #expect(try await server.send(.post, "/api/admin/users/\(leaver.id)/disable", as: oldSession).status == .ok)
            let oldAudit = try await server.count("audit_log")

            server.clock.advance(by: 400 * 86_400)
            let admin = try await server.login(old)
            let kept = try DealsTests.json(try await DealsTests.create(server, admin, ["canonical_name": "Recent deal"]))["id"] as? String
            #expect(try await server.send(.delete, "/api/deals/\(try #require(kept))", as: admin).status == .noContent)
            func counts() async throws -> [Int] {
                var result: [Int] = []
                for table in ["sessions", "deals", "audit_log", "event_log", "operators"] { result.append(try await server.count(table)) }
                return result
            }
            let before = try await counts()
            let service = server.components.retention
            let dry = try await service.run(dryRun: true, by: ChangeContext(systemAt: server.clock.now()))
            #expect(try await counts() == before, "a dry run changes nothing")
            #expect(dry.counts["deleted_deals"] == 1 && dry.counts["expired_sessions"] == 1 && dry.counts["audit_entries"] == oldAudit)
            let run = try await service.run(dryRun: false, by: ChangeContext(systemAt: server.clock.now()))
            #expect(run.counts == dry.counts)
            #expect(try await server.send(.get, "/api/deals/\(try #require(kept))", as: admin).status == .notFound)
            let remaining = try await server.database.read { sql in
                try await sql.select().column("id").from("deals").all().map { try $0.decode(column: "id", as: String.self) }
            }
            #expect(remaining == [kept])
            let erased = try await UserAdminTests.operatorRow(server, leaver.id)
            #expect(!erased.contains(leaver.email))
            let verification = try await Self.verification(server, admin)
            #expect(verification["ok"] as? Bool == true, "\(verification)")
            #expect((verification["checkpoint"] as? [String: Any])?["purged"] as? Int == oldAudit)
            #expect(try await server.auditEntries("retention.run").count == 1)
            let status = try TestServer.object(try await server.send(.get, "/api/admin/retention", as: admin))
            #expect((status["policy"] as? [String: Int])?["audit_entries"] == 365)
            #expect((status["last_run"] as? [String: Any])?["dry_run"] as? Bool == false)
            // A purged entry's checkpoint cannot be forged: the database refuses changing it.
            await #expect(throws: (any Error).self) {
                try await server.database.transaction { sql in try await sql.update("audit_checkpoints").set("purged", to: SQLBind(0)).run() }
            }
        }
    }
}
