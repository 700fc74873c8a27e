import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsHTTP
import ZakOpsStore
@testable import ZakOpsApp

/// The transactional outbox and signed webhooks: what a change commits is delivered to a local
/// receiver, signed; failures back off and dead-letter; the DLQ is retried and purged; the
/// pause switch stops every processor; SSRF targets are refused.
@Suite("Outbox and webhooks", .serverSlot)
struct OutboxAndWebhookTests {
    static func processor(_ server: TestServer) -> OutboxProcessor {
        server.components.outboxProcessor
    }

    static func createWebhook(_ server: TestServer, _ admin: BrowserSession, url: String, types: [String] = ["*"]) async throws -> (id: String, secret: String) {
        let body = try JSONSerialization.data(withJSONObject: ["url": url, "event_types": types])
        let created = try await server.client.execute(uri: "/api/admin/webhooks", method: .post, headers: admin.headers(), body: ByteBuffer(bytes: body))
        #expect(created.status == .created)
        let json = try DealsTests.json(created)
        return (try #require(json["id"] as? String), try #require(json["secret"] as? String))
    }

    /// The Standard Webhooks check, written from its description: base64 HMAC-SHA256 of
    /// `id.timestamp.body` keyed with the secret's base64 part, after `v1,`.
    static func verifies(_ delivery: WebhookInbox.Delivery, secret: String) -> Bool {
        guard let id = delivery.headers[HTTPField.Name("webhook-id")!], let timestamp = delivery.headers[HTTPField.Name("webhook-timestamp")!],
              let signatures = delivery.headers[HTTPField.Name("webhook-signature")!],
              let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) else { return false }
        let expected = Data(HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).\(delivery.body)".utf8), using: SymmetricKey(data: key))).base64EncodedString()
        return signatures.split(separator: " ").contains { $0 == "v1,\(expected)" }
    }

    @Test("a committed change reaches the receiver once, signed; a refused change sends nothing")
    func deliverySigned() async throws {
        try await WebhookReceiver.run { url, inbox in
            try await TestServer.run { server in
                let admin = try await server.login(try await server.createOperator(role: .admin))
                let hook = try await Self.createWebhook(server, admin, url: url, types: ["deal.created", "deal.stage_changed"])
                #expect(hook.secret.hasPrefix("whsec_"))
                let listed = try await server.client.execute(uri: "/api/admin/webhooks", method: .get, headers: admin.headers(json: false))
                #expect(!listed.text.contains(hook.secret), "the secret is shown once")
                let deal = try DealsTests.json(try await DealsTests.create(server, admin, ["canonical_name": "Hooked", "broker": ["name": "Jane Broker"]]))
                let id = try #require(deal["id"] as? String)
                // A refused change: no event, no outbox row.
                let refused = try await server.client.execute(uri: "/api/deals/\(id)/transition", method: .post, headers: admin.headers(),
                                                              body: ByteBuffer(string: #"{"to_stage":"closing"}"#))
                #expect(refused.status == .unprocessableContent)
                #expect(try await server.count("outbox") == 1)
                #expect(try await Self.processor(server).runOnce() == 1)
                let deliveries = await inbox.deliveries
                #expect(deliveries.count == 1)
                let delivery = try #require(deliveries.first)
                #expect(Self.verifies(delivery, secret: hook.secret))
                #expect(!Self.verifies(delivery, secret: WebhookSignature.newSecret()))
                let body = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: Any])
                #expect(body["type"] as? String == "deal.created")
                #expect((body["data"] as? [String: Any])?["id"] as? String == id)
                #expect(!delivery.body.contains("Jane Broker"), "no personal data in events")
                // Delivered rows are not sent again.
                #expect(try await Self.processor(server).runOnce() == 0)
                #expect(await inbox.deliveries.count == 1)
            }
        }
    }

    @Test("a failing receiver: exponential backoff, dead after the last attempt, retried from the DLQ, purged")
    func backoffAndDeadLetter() async throws {
        try await WebhookReceiver.run { url, inbox in
            try await TestServer.run(configure: { $0.outboxMaxAttempts = 3 }) { server in
                let account = try await server.createOperator(role: .admin)
                var admin = try await server.login(account)
                _ = try await Self.createWebhook(server, admin, url: url)
                await inbox.answer(with: .internalServerError)
                _ = try await DealsTests.create(server, admin, ["canonical_name": "Unlucky"])
                let processor = Self.processor(server)
                #expect(try await processor.runOnce() == 1)
                // Not due again until its backoff has passed.
                #expect(try await processor.runOnce() == 0)
                server.clock.advance(by: 6)
                #expect(try await processor.runOnce() == 1)
                server.clock.advance(by: 11)
                #expect(try await processor.runOnce() == 1)
                #expect(await inbox.deliveries.count == 3)
                // The same webhook-id on every attempt: receivers de-duplicate by it.
                #expect(Set(await inbox.deliveries.compactMap { $0.headers[HTTPField.Name("webhook-id")!] }).count == 1)
                server.clock.advance(by: 3600)
                #expect(try await processor.runOnce() == 0, "dead rows are not retried by themselves")
                admin = try await server.login(account)  // an hour later: the session has gone idle

                let dlqResponse = try await server.client.execute(uri: "/api/admin/dlq", method: .get, headers: admin.headers(json: false))
                #expect(dlqResponse.status == .ok, "\(dlqResponse.text)")
                let dlq = try DealsTests.json(dlqResponse)
                let entries = try #require(dlq["entries"] as? [[String: Any]])
                #expect(entries.count == 1)
                let entry = try #require(entries.first)
                #expect(entry["attempts"] as? Int == 3 && entry["last_error"] as? String == "the receiver answered HTTP 500")
                #expect(entry["payload"] == nil, "payloads are not shown")
                let stats = try DealsTests.json(try await server.client.execute(uri: "/api/admin/dlq/stats", method: .get, headers: admin.headers(json: false)))
                #expect(stats["total"] as? Int == 1)

                await inbox.answer(with: .ok)
                let outboxID = try #require(entry["id"] as? String)
                #expect(try await server.client.execute(uri: "/api/admin/dlq/\(outboxID)/retry", method: .post, headers: admin.headers(json: false)).status == .noContent)
                #expect(try await processor.runOnce() == 1)
                #expect(await inbox.deliveries.count == 4)
                let status = try DealsTests.json(try await server.client.execute(uri: "/api/admin/outbox/status", method: .get, headers: admin.headers(json: false)))
                #expect((status["counts"] as? [String: Int])?["delivered"] == 1 && (status["counts"] as? [String: Int])?["dead"] == 0)

                // Purge: dead rows older than the given time go, audited.
                await inbox.answer(with: .badGateway)
                _ = try await DealsTests.create(server, admin, ["canonical_name": "Unlucky again"])
                for _ in 0..<3 {
                    _ = try await processor.runOnce()
                    server.clock.advance(by: 60)
                }
                #expect(try await server.count("outbox") == 2)
                let future = Timestamp.string(from: server.clock.now().addingTimeInterval(60))
                let purged = try await server.client.execute(uri: "/api/admin/dlq/purge", method: .post, headers: admin.headers(),
                                                             body: ByteBuffer(string: #"{"older_than":"\#(future)"}"#))
                #expect(try DealsTests.json(purged)["count"] as? Int == 1)
                #expect(try await server.count("outbox") == 1)
                let trail = try DealsTests.json(try await server.client.execute(uri: "/api/admin/audit?target_kind=outbox", method: .get, headers: admin.headers(json: false)))
                #expect((trail["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == ["dlq.purged", "dlq.retried"])
            }
        }
    }

    @Test("pause stops every processor within one poll, the switch survives, resume delivers what waited")
    func pauseAndResume() async throws {
        try await WebhookReceiver.run { url, inbox in
            try await TestServer.run { server in
                let admin = try await server.login(try await server.createOperator(role: .admin))
                _ = try await Self.createWebhook(server, admin, url: url)
                let paused = try await server.client.execute(uri: "/api/admin/outbox/pause", method: .post, headers: admin.headers(json: false))
                #expect(try DealsTests.json(paused)["paused"] as? Bool == true)
                _ = try await DealsTests.create(server, admin, ["canonical_name": "Waiting"])
                // Two processors (two instances): neither claims while paused.
                #expect(try await Self.processor(server).runOnce() == 0)
                #expect(try await Self.processor(server).runOnce() == 0)
                #expect(await inbox.deliveries.isEmpty)
                // An operator without admin:system cannot flip it.
                let operatorSession = try await server.login(try await server.createOperator(role: .operator))
                #expect(try await server.client.execute(uri: "/api/admin/outbox/resume", method: .post, headers: operatorSession.headers(json: false)).status == .forbidden)
                #expect(try await RuntimeSwitches(database: server.database).isOn(.outboxPaused))
                _ = try await server.client.execute(uri: "/api/admin/outbox/resume", method: .post, headers: admin.headers(json: false))
                #expect(try await Self.processor(server).runOnce() == 1)
                #expect(await inbox.deliveries.count == 1)
            }
        }
    }

    @Test("two processors claiming at once never deliver a row twice, and deliver every row")
    func concurrentProcessors() async throws {
        try await WebhookReceiver.run { url, inbox in
            try await TestServer.run(configure: { $0.outboxBatchSize = 7 }) { server in
                let admin = try await server.login(try await server.createOperator(role: .admin))
                _ = try await Self.createWebhook(server, admin, url: url)
                for index in 0..<30 { _ = try await DealsTests.create(server, admin, ["canonical_name": "Deal \(index)"]) }
                let first = Self.processor(server)
                let second = Self.processor(server)
                var rounds = 0
                while try await server.count("outbox") > 0, rounds < 20 {
                    async let a = first.runOnce()
                    async let b = second.runOnce()
                    let handled = try await a + b
                    rounds += 1
                    let pending = try await server.database.read { sql in
                        try await sql.select().column("id").from("outbox").where("status", .notEqual, SQLBind("delivered")).all().count
                    }
                    if handled == 0 && pending == 0 { break }
                }
                let ids = await inbox.deliveries.compactMap { $0.headers[HTTPField.Name("webhook-id")!] }
                #expect(ids.count == 30, "every row once")
                #expect(Set(ids).count == 30, "no row twice")
            }
        }
    }

    @Test("webhooks cannot target private, loopback, link-local or metadata addresses, or carry credentials", arguments: [
        "http://127.0.0.1/hook", "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]/x", "http://[fd00::1]/x",
        "http://localhost:8080/x", "http://192.168.1.1/x", "http://100.64.0.1/x", "https://user:pass@example.com/x", "ftp://example.com/x", "not a url",
    ])
    func ssrfRefused(url: String) async throws {
        try await TestServer.run(configure: { $0.webhookAllowPrivate = false }) { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let body = try JSONSerialization.data(withJSONObject: ["url": url, "event_types": ["*"]])
            let refused = try await server.client.execute(uri: "/api/admin/webhooks", method: .post, headers: admin.headers(), body: ByteBuffer(bytes: body))
            #expect(refused.status == .badRequest)
            #expect(refused.errorBody?.error.field == "url")
            #expect(try await server.count("webhooks") == 0)
        }
    }

    @Test("a delivery connects to the addresses the policy checked, not to a second lookup of the name (DNS rebinding), the next one when one refuses")
    func deliveryPinnedToCheckedAddress() async throws {
        try await WebhookReceiver.run { url, inbox in
            try await TestServer.run { server in
                let admin = try await server.login(try await server.createOperator(role: .admin))
                // `.invalid` never resolves (RFC 6761): only the policy's resolver knows the name,
                // so a client that looked the name up again could not deliver at all.
                let port = try #require(URL(string: url)?.port)
                let name = "pinned-\(RandomToken.base32(RandomToken.bytes(5)).lowercased()).invalid"
                _ = try await Self.createWebhook(server, admin, url: "http://\(name):\(port)/hook", types: ["deal.created"])
                _ = try await DealsTests.create(server, admin, ["canonical_name": "Pinned"])
                // Nothing listens on 127.0.0.2: the refused connection makes the next checked
                // address be tried, as a client resolving the name itself would.
                let policy = WebhookAddressPolicy(requireHTTPS: false, allowPrivate: true) { host, _ in
                    host == name ? [try #require(IPAddress("127.0.0.2")), try #require(IPAddress("127.0.0.1"))] : []
                }
                let components = try AppComponents(settings: server.settings, database: server.database, logger: Logger(label: "test.outbox"), clock: server.clock)
                #expect(try await components.outboxProcessor(policy: policy).runOnce() == 1)
                let lastError = try await server.database.read { sql in
                    try await sql.select().column("last_error").from("outbox").first()?.decode(column: "last_error", as: String?.self)
                }
                #expect(lastError == nil, "\(lastError ?? "")")
                let delivery = try #require(await inbox.deliveries.first)
                #expect(delivery.authority == "\(name):\(port)", "the request is for the name; the connection went to the checked address")
                let status = try await server.database.read { sql in
                    try await sql.select().column("status").from("outbox").first()?.decode(column: "status", as: String.self)
                }
                #expect(status == "delivered")
            }
        }
    }

    @Test("a host name that resolves to a private address is refused at delivery time")
    func resolvedAddressRefused() async throws {
        let policy = WebhookAddressPolicy(requireHTTPS: false, allowPrivate: false)
        // `localhost.` (with the root dot) is a name the form check does not catch.
        await #expect(throws: WebhookDeliveryError.self) { try await policy.checkResolved(host: "localhost.", port: 80) }
        let production = WebhookAddressPolicy(requireHTTPS: true, allowPrivate: false)
        #expect(throws: AppError.self) { try production.validate("http://example.com/hook") }
        #expect(try production.validate("https://example.com/hook").host == "example.com")
    }
}
