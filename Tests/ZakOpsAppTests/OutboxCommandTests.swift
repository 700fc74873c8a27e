import Foundation
import Logging
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore
@testable import ZakOpsApp

/// The DLQ playbook from the command line: `zakops outbox` and `zakops dlq` on the database.
@Suite("Outbox and DLQ commands", .serverSlot)
struct OutboxCommandTests {
    @Test("pause, status, dlq stats/list/retry/purge, resume — each audited as the cli actor")
    func playbook() async throws {
        let location = try await TestDatabase.fresh()
        let logger = Logger(label: "test.cli")
        let old = Date().addingTimeInterval(-10 * 86_400)
        try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
            _ = try await MigrationRunner(database: database, logger: logger).migrate()
            try await database.transaction { sql in
                for (index, created) in [old, old, Date()].enumerated() {
                    try await sql.insert(into: "outbox")
                        .columns("id", "consumer", "event_type", "payload", "status", "attempts", "next_attempt_at", "last_error", "created_at")
                        .values(SQLBind("msg_cli\(index)"), SQLBind(index == 2 ? "webhook:wh_b" : "webhook:wh_a"), SQLBind("deal.created"),
                                SQLBind(#"{"secret_deal":"Project Falcon"}"#), SQLBind("dead"), SQLBind(5), SQLBind(Timestamp.string(from: created)),
                                SQLBind("the receiver answered HTTP 503"), SQLBind(Timestamp.string(from: created)))
                        .run()
                }
            }
        }
        let environment = ["DATABASE_URL": TestDatabase.url(location), "LOG_LEVEL": "warning"]
        func zakops(_ arguments: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await ZakOpsProcess.run(arguments, environment: environment)
        }
        func json(_ text: String) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        }

        let paused = try await zakops("outbox", "pause")
        #expect(paused.status == 0)
        #expect(try json(paused.stdout)["paused"] as? Bool == true)
        let status = try json(try await zakops("outbox", "status").stdout)
        #expect((status["counts"] as? [String: Int])?["dead"] == 3)

        let stats = try json(try await zakops("dlq", "stats").stdout)
        #expect(stats["total"] as? Int == 3)
        let list = try await zakops("dlq", "list", "--consumer", "webhook:wh_a")
        #expect((try json(list.stdout)["entries"] as? [[String: Any]])?.count == 2)
        #expect(!list.stdout.contains("Project Falcon"), "payloads are never shown")

        #expect(try await zakops("dlq", "retry").status != 0, "retry names what to retry")
        let retried = try await zakops("dlq", "retry", "--consumer", "webhook:wh_b")
        #expect(retried.stdout.contains("retried 1"))
        let purged = try await zakops("dlq", "purge", "--older-than", "7d")
        #expect(purged.stdout.contains("purged 2"))
        #expect(try await zakops("outbox", "resume").status == 0)
        let degraded = try await zakops("sse", "degraded", "on")
        #expect(degraded.stdout.hasPrefix("degraded: on"))
        #expect(try await zakops("sse", "degraded", "off").stdout.hasPrefix("degraded: off"))
        #expect(try await zakops("sse", "degraded", "maybe").status != 0)

        try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
            let rows = try await database.read { sql in
                try await sql.select().columns("id", "status").from("outbox").all().map {
                    (try $0.decode(column: "id", as: String.self), try $0.decode(column: "status", as: String.self))
                }
            }
            #expect(rows.count == 1 && rows.first?.0 == "msg_cli2" && rows.first?.1 == "pending")
            #expect(try await !RuntimeSwitches(database: database).isOn(.outboxPaused))
            let actions = try await database.read { sql in
                try await sql.select().columns("action", "actor_id", "actor_kind").from("audit_log").orderBy("seq").all().map {
                    (try $0.decode(column: "action", as: String.self), try $0.decode(column: "actor_id", as: String.self))
                }
            }
            #expect(actions.map(\.0) == ["outbox.paused", "dlq.retried", "dlq.purged", "outbox.resumed", "sse.degraded_on", "sse.degraded_off"])
            #expect(actions.allSatisfy { $0.1 == "cli" })
        }
    }
}
