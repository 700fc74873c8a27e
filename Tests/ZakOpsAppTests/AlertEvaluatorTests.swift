import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsStore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// The embedded evaluator end to end on a real database: the monitor's tick writes this
/// instance's report, the evaluator fires and resolves, each transition is told once through
/// the outbox (a signed webhook to a local receiver, a sealed mail), and the state is what the
/// admin endpoint and `zakops alerts` show.
@Suite("Embedded alerts", .serverSlot)
struct AlertEvaluatorTests {
    static func payloads(_ inbox: WebhookInbox, alert: String) async throws -> [AlertNotifier.Payload] {
        try await inbox.deliveries.map { try JSONDecoder().decode(AlertNotifier.Payload.self, from: Data($0.body.utf8)) }.filter { $0.alert == alert }
    }

    static func addDeadLetters(_ count: Int, server: TestServer) async throws {
        try await server.database.transaction { sql in
            for _ in 0..<count {
                let id = try await OutboxRepository.enqueue(consumer: "webhook:wh_gone", eventType: "deal.created", payload: "{}", at: Date(), in: sql)
                try await sql.update("outbox").set("status", to: SQLBind(OutboxRow.Status.dead.rawValue)).where("id", .equal, SQLBind(id)).run()
            }
        }
    }

    @Test("DLQ growth fires once: one signed webhook, one mail, firing in the API and in `zakops alerts`; resolved the same way once purged")
    func firesAndResolves() async throws {
        try await WebhookReceiver.run { url, inbox in
            let secret = "whsec_" + Data(RandomToken.bytes(32)).base64EncodedString()
            try await TestServer.run(mailThroughOutbox: true, configure: {
                $0.alertWebhookURL = url
                $0.alertWebhookSecret = Secret(secret)
                $0.alertEmail = "oncall@example.com"
            }) { server in
                let monitor = server.components.monitor(instance: "host-a:8080")
                var history = AlertHistory(evaluationInterval: 15)
                try await monitor.tick(&history)
                #expect(try await server.count("metric_snapshots") == 1)
                // Ten quiet minutes: the history covers the DLQ rule's window.
                server.clock.advance(by: 600)
                try await monitor.tick(&history)

                try await Self.addDeadLetters(2, server: server)
                server.clock.advance(by: 15)
                try await monitor.tick(&history)
                let states = try await server.database.read { sql in try await AlertRepository.states(in: sql) }
                #expect(states["ZakOpsDLQGrowing"]?.state == .firing && states["ZakOpsDLQGrowing"]?.value == 2)
                #expect(states["ZakOpsDLQNotEmpty"]?.state == .pending)

                // Firing stays firing: told once.
                server.clock.advance(by: 15)
                try await monitor.tick(&history)
                // Mail payloads are redacted once delivered: read them first.
                let mails = try await server.queuedMails().filter { $0.subject.contains("ZakOpsDLQGrowing") }
                #expect(mails.count == 1 && mails.first?.to == "oncall@example.com" && mails.first?.subject == "[ZakOps] FIRING: ZakOpsDLQGrowing")
                try await server.components.outboxProcessor.runOnce()
                let fired = try await Self.payloads(inbox, alert: "ZakOpsDLQGrowing")
                #expect(fired.map(\.status) == ["firing"] && fired.first?.value == 2 && fired.first?.runbook == "docs/runbooks/dlq-overflow.md")
                let delivery = try #require(await inbox.deliveries.first { $0.body.contains("ZakOpsDLQGrowing") })
                #expect(OutboxAndWebhookTests.verifies(delivery, secret: secret))

                // The endpoint (admin:system) and the command show it.
                let admin = try await server.login(try await server.createOperator(role: .admin))
                let listed = try await server.send(.get, "/api/admin/alerts", as: admin)
                #expect(listed.status == .ok)
                let overview = try JSONDecoder().decode(AlertOverview.self, from: Data(listed.body.readableBytesView))
                #expect(overview.alerts.count == AlertCatalog.rules.count)
                #expect(overview.alerts.first { $0.name == "ZakOpsDLQGrowing" }?.status.state == .firing)
                let viewer = try await server.login(try await server.createOperator(role: .operator))
                #expect(try await server.send(.get, "/api/admin/alerts", as: viewer).status == .forbidden)
                let command = try await ZakOpsProcess.run(["alerts", "--json"], environment: ["DATABASE_URL": TestDatabase.url(server.settings.database),
                                                                                               "SESSION_SECRET": server.settings.sessionSecret!.value])
                #expect(command.status == 0, "\(command.stderr)")
                let printed = try JSONDecoder().decode(AlertOverview.self, from: Data(command.stdout.utf8))
                #expect(printed.alerts.first { $0.name == "ZakOpsDLQGrowing" }?.status.state == .firing)

                // Purged: no longer growing → resolved, told once; DLQNotEmpty never fired.
                try await server.database.autocommit { sql in
                    try await sql.delete(from: "outbox").where("status", .equal, SQLBind(OutboxRow.Status.dead.rawValue)).run()
                }
                server.clock.advance(by: 15)
                try await monitor.tick(&history)
                server.clock.advance(by: 15)
                try await monitor.tick(&history)
                try await server.components.outboxProcessor.runOnce()
                #expect(try await Self.payloads(inbox, alert: "ZakOpsDLQGrowing").map(\.status) == ["firing", "resolved"])
                #expect(try await Self.payloads(inbox, alert: "ZakOpsDLQNotEmpty").isEmpty)
                let resolved = try await server.database.read { sql in try await AlertRepository.states(in: sql) }["ZakOpsDLQGrowing"]
                #expect(resolved?.state == .inactive && resolved?.resolvedAt != nil)
            }
        }
    }

    @Test("two evaluators on one database tell a transition once; a restarted evaluator does not tell a firing alert again")
    func oncePerCluster() async throws {
        try await WebhookReceiver.run { url, inbox in
            let secret = "whsec_" + Data(RandomToken.bytes(32)).base64EncodedString()
            try await TestServer.run(configure: { $0.alertWebhookURL = url; $0.alertWebhookSecret = Secret(secret) }) { server in
                let one = server.components.monitor(instance: "host-a:8080")
                let two = server.components.monitor(instance: "host-b:8080")
                var historyOne = AlertHistory(evaluationInterval: 15)
                var historyTwo = AlertHistory(evaluationInterval: 15)
                try await one.tick(&historyOne)
                try await two.tick(&historyTwo)
                server.clock.advance(by: 600)
                try await one.tick(&historyOne)
                try await two.tick(&historyTwo)
                try await Self.addDeadLetters(1, server: server)
                server.clock.advance(by: 15)
                try await one.tick(&historyOne)
                try await two.tick(&historyTwo)
                // A third, fresh evaluator (a restart) with an empty history.
                var fresh = AlertHistory(evaluationInterval: 15)
                server.clock.advance(by: 15)
                try await Self.addDeadLetters(1, server: server)
                try await server.components.monitor(instance: "host-a:8080").tick(&fresh)
                try await server.components.outboxProcessor.runOnce()
                #expect(try await Self.payloads(inbox, alert: "ZakOpsDLQGrowing").map(\.status) == ["firing"])
            }
        }
    }

    @Test("an instance that stops reporting is down for the evaluator until one starts in its place; one that stopped cleanly is not")
    func instanceDown() async throws {
        try await TestServer.run { server in
            let alive = server.components.monitor(instance: "host-a:8080")
            let crashed = server.components.monitor(instance: "host-b:8080")
            var history = AlertHistory(evaluationInterval: 15)
            try await crashed.tick(&history)
            try await alive.tick(&history)
            for _ in 0..<10 {
                server.clock.advance(by: 15)
                try await alive.tick(&history)
            }
            let states = try await server.database.read { sql in try await AlertRepository.states(in: sql) }
            #expect(states["ZakOpsInstanceDown"]?.state == .firing && states["ZakOpsInstanceDown"]?.value == 1)
            // Started again in its place (same host and port): up again, resolved.
            let restarted = server.components.monitor(instance: "host-b:8080")
            server.clock.advance(by: 15)
            try await restarted.tick(&history)
            try await alive.tick(&history)
            let after = try await server.database.read { sql in try await AlertRepository.states(in: sql) }
            #expect(after["ZakOpsInstanceDown"]?.state == .inactive)
            // A clean stop removes the report: never down.
            try await AlertRepository.removeReport(instanceID: restarted.instanceID, in: server.database)
            for _ in 0..<10 {
                server.clock.advance(by: 15)
                try await alive.tick(&history)
            }
            let stopped = try await server.database.read { sql in try await AlertRepository.states(in: sql) }
            #expect(stopped["ZakOpsInstanceDown"]?.state == .inactive)
        }
    }

    @Test("alert settings: a webhook needs a whsec_ secret, the address must be one address")
    func settings() throws {
        func load(_ environment: [String: String]) throws -> Settings {
            try SettingsLoader(input: SettingsInput(flags: [:], environment: environment)).load()
        }
        #expect(throws: SettingsError.self) { try load(["ALERT_WEBHOOK_URL": "https://alerts.example.com/hook"]) }
        #expect(throws: SettingsError.self) { try load(["ALERT_WEBHOOK_URL": "https://alerts.example.com/hook", "ALERT_WEBHOOK_SECRET": "short"]) }
        #expect(throws: SettingsError.self) { try load(["ALERT_WEBHOOK_URL": "ftp://alerts.example.com", "ALERT_WEBHOOK_SECRET": "whsec_" + Data(RandomToken.bytes(32)).base64EncodedString()]) }
        #expect(throws: SettingsError.self) { try load(["ALERT_EMAIL": "a@example.com, b@example.com"]) }
        let loaded = try load(["ALERT_WEBHOOK_URL": "https://alerts.example.com/hook", "ALERT_WEBHOOK_SECRET": "whsec_" + Data(RandomToken.bytes(32)).base64EncodedString(),
                               "ALERT_EMAIL": "oncall@example.com", "ALERT_EVALUATION_SECONDS": "30", "ALERTS_EMBEDDED": "false"])
        #expect(loaded.alertWebhookURL == "https://alerts.example.com/hook" && loaded.alertEmail == "oncall@example.com")
        #expect(loaded.alertEvaluationSeconds == 30 && !loaded.alertsEmbedded)
    }
}
