import Foundation
import HTTPTypes
import Logging
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore
@testable import ZakOpsApp

/// Nothing accepted is lost: the real server is killed with SIGKILL in the middle of delivering
/// a batch of webhooks, then started again.
@Suite("Outbox crash safety", .serverSlot)
struct OutboxCrashTests {
    @Test("kill -9 while delivering: after a restart every event arrives, duplicates only with the same id")
    func crashDuringDelivery() async throws {
        try await WebhookReceiver.run { url, inbox in
            await inbox.answerSlowly(after: .milliseconds(300))
            let location = try await TestDatabase.fresh()
            let logger = Logger(label: "test.crash")
            let expected = try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
                _ = try await MigrationRunner(database: database, logger: logger).migrate()
                // Signed as the server started below signs (development settings).
                database.auditKeys = Settings().auditKeyRing
                let stamp = Timestamp.string(from: Date())
                try await database.transaction { sql in
                    try await WebhookRepository.insert(
                        Webhook(id: "wh_crashtest", url: url, eventTypes: ["*"], secret: WebhookSignature.newSecret(), isActive: true,
                                createdAt: stamp, updatedAt: stamp),
                        createdBy: "test", in: sql)
                }
                let deals = DealService(database: database, clock: SystemClock())
                for index in 0..<60 {
                    let input = try JSONDecoder().decode(CreateDealRequest.self, from: Data(#"{"canonical_name":"Crash \#(index)"}"#.utf8))
                    _ = try await deals.create(input, by: ChangeContext(systemAt: Date()), reply: DealsController.created)
                }
                return try await database.read { sql in
                    Set(try await sql.select().column("id").from("outbox").all().map { try $0.decode(column: "id", as: String.self) })
                }
            }
            #expect(expected.count == 60)

            let port = try await ZakOpsProcess.freePort()
            let environment = [
                "DATABASE_URL": TestDatabase.url(location), "HTTP_PORT": String(port), "LOG_LEVEL": "warning",
                "WEBHOOK_ALLOW_PRIVATE": "true", "OUTBOX_BATCH_SIZE": "10", "OUTBOX_LEASE_SECONDS": "5", "OUTBOX_POLL_INTERVAL_MS": "50",
            ]
            let first = try await ZakOpsProcess(["serve"], environment: environment)
            try await first.waitUntilListening(port: port)
            let deadline = ContinuousClock.now + .seconds(60)
            while await inbox.deliveries.count < 15 {
                guard ContinuousClock.now < deadline else { throw TestSetupError("no deliveries before the kill") }
                try await Task.sleep(for: .milliseconds(20))
            }
            kill(first.pid, SIGKILL)
            _ = try await first.wait()
            let beforeRestart = await inbox.deliveries.count
            #expect(beforeRestart < 60, "the kill came in the middle of the deliveries")

            let second = try await ZakOpsProcess(["serve"], environment: environment)
            try await second.waitUntilListening(port: port)
            let restartDeadline = ContinuousClock.now + .seconds(90)
            func receivedIDs() async -> [String] { await inbox.deliveries.compactMap { $0.headers[HTTPField.Name("webhook-id")!] } }
            while Set(await receivedIDs()) != expected {
                guard ContinuousClock.now < restartDeadline else { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            // And the database agrees: every row delivered.
            var undelivered = -1
            while undelivered != 0, ContinuousClock.now < restartDeadline {
                undelivered = try await Database.withOpened(location, poolSize: 1, deadline: .seconds(10), logger: logger) { database in
                    try await database.read { sql in
                        try await sql.select().column("id").from("outbox").where("status", .notEqual, SQLBind("delivered")).all().count
                    }
                }
                if undelivered != 0 { try await Task.sleep(for: .milliseconds(200)) }
            }
            second.terminate()
            _ = try await second.wait()
            let received = await receivedIDs()
            #expect(Set(received) == expected, "every event arrived")
            #expect(received.allSatisfy(expected.contains), "nothing but the outbox's ids")
            #expect(undelivered == 0)
        }
    }
}
