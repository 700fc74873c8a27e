import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import Synchronization
import Testing
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// Secrets at rest and their rotation: sealed in the database yet working; API keys and webhook
/// secrets rotated with an overlap; `zakops secrets rotate` re-sealing under a new key.
@Suite("Secrets at rest and rotation", .serverSlot)
struct SecretRotationTests {
    @Test("a webhook's secret is sealed in the database; a rotation signs with both secrets during the overlap, then with the new one only")
    func webhookRotation() async throws {
        try await WebhookReceiver.run { url, inbox in
            try await TestServer.run { server in
                let adminAccount = try await server.createOperator(role: .admin)
                let admin = try await server.login(adminAccount)
                let hook = try await OutboxAndWebhookTests.createWebhook(server, admin, url: url, types: ["deal.created"])
                let stored = try await server.database.read { sql in
                    try await sql.select().column("secret").from("webhooks").where("id", .equal, SQLBind(hook.id)).first(decodingColumn: "secret", as: String.self)
                }
                #expect(stored?.hasPrefix("enc:v1:") == true && stored?.contains(hook.secret.dropFirst(6)) == false)

                let rotated = try await server.send(.post, "/api/admin/webhooks/\(hook.id)/rotate-secret", as: admin, body: #"{"grace_hours":2}"#)
                #expect(rotated.status == .ok)
                let newSecret = try #require(try TestServer.object(rotated)["secret"] as? String)
                #expect(newSecret != hook.secret)
                #expect(try await server.send(.post, "/api/admin/webhooks/\(hook.id)/rotate-secret", as: admin, body: #"{"grace_hours":25}"#).status == .badRequest)

                _ = try await DealsTests.create(server, admin, ["canonical_name": "During overlap"])
                #expect(try await OutboxAndWebhookTests.processor(server).runOnce() == 1)
                let during = try #require(await inbox.deliveries.last)
                #expect(OutboxAndWebhookTests.verifies(during, secret: hook.secret) && OutboxAndWebhookTests.verifies(during, secret: newSecret))

                server.clock.advance(by: 2 * 3600 + 1)
                let later = try await server.login(adminAccount)
                _ = try await DealsTests.create(server, later, ["canonical_name": "After overlap"])
                #expect(try await OutboxAndWebhookTests.processor(server).runOnce() == 1)
                let after = try #require(await inbox.deliveries.last)
                #expect(OutboxAndWebhookTests.verifies(after, secret: newSecret) && !OutboxAndWebhookTests.verifies(after, secret: hook.secret))
                #expect(try await server.auditEntries("webhook.secret_rotated").map(\.target) == [hook.id])
            }
        }
    }

    @Test("API keys expire; a rotation issues a new key and keeps the old one for the grace period only")
    func keyRotationAndExpiry() async throws {
        try await TestServer.run { server in
            let adminAccount = try await server.createOperator(role: .admin)
            let admin = try await server.login(adminAccount)
            let (account, key) = try await CSRFAndAccessTests.createServiceAccount(server, admin: admin, role: .operator)
            func status(_ key: String) async throws -> HTTPResponse.Status {
                try await server.client.execute(uri: "/api/deals", method: .get, headers: IncidentPlaybookTests.bearer(key)).status
            }
            let keys = try TestServer.object(try await server.send(.get, "/api/admin/service-accounts/\(account)/keys", as: admin))
            let listed = try #require((keys["keys"] as? [[String: Any]])?.first)
            let keyID = try #require(listed["id"] as? String)
            #expect(listed["expires_at"] as? String != nil)

            // A key's lifetime can be shorter than the maximum, never longer.
            let tooLong = try await server.send(.post, "/api/admin/service-accounts/\(account)/keys", as: admin, body: #"{"expires_in_days":366}"#)
            #expect(tooLong.status == .badRequest)
            let rotated = try await server.send(.post, "/api/admin/service-accounts/\(account)/keys/\(keyID)/rotate", as: admin, body: #"{"grace_hours":1}"#)
            #expect(rotated.status == .created)
            let newKey = try #require(try TestServer.object(rotated)["key"] as? String)
            #expect(try await status(key) == .ok)
            #expect(try await status(newKey) == .ok)
            // Past the grace the old key is refused; the new one works until its own expiry (90 days).
            server.clock.advance(by: 3600 + 1)
            server.components.credentials.invalidateAll()
            #expect(try await status(key) == .unauthorized)
            #expect(try await status(newKey) == .ok)
            server.clock.advance(by: 90 * 86_400)
            server.components.credentials.invalidateAll()
            #expect(try await status(newKey) == .unauthorized)

            let later = try await server.login(adminAccount)
            let rotatedTwice = try await server.send(.post, "/api/admin/service-accounts/\(account)/keys/\(keyID)/rotate", as: later, body: "{}")
            #expect(rotatedTwice.status == .notFound, "an expired key has nothing left to rotate")
            #expect(try await server.auditEntries("api_key.rotated").count == 1)
        }
    }

    @Test("mail in the outbox is sealed (no reset link readable in the database); zakops secrets rotate re-seals everything under a new key")
    func dataKeyRotation() async throws {
        let location = try await TestDatabase.fresh()
        let oldKey = TestSecrets.dataKey()
        let account = Mutex<TestAccount?>(nil)
        try await TestServer.run(location: location, mailThroughOutbox: true, configure: { $0.dataEncryptionKey = Secret(oldKey) }) { server in
            let member = try await server.createOperator(role: .operator)
            account.withLock { $0 = member }
            let admin = try await server.login(try await server.createOperator(role: .admin))
            #expect(try await server.send(.post, "/api/admin/users/\(member.id)/force-reset", as: admin).status == .ok)
            let token = try await server.lastLinkToken(to: member.email)
            let payloads = try await server.database.read { sql in
                try await sql.select().column("payload").from("outbox").all().map { try $0.decode(column: "payload", as: String.self) }
            }
            #expect(!payloads.isEmpty && payloads.allSatisfy { $0.hasPrefix("enc:v1:") && !$0.contains(token) && !$0.contains(member.email) })
        }
        let member = try #require(account.withLock { $0 })
        let newKey = TestSecrets.dataKey()
        let environment = ["DATABASE_URL": TestDatabase.url(location), "DATA_ENCRYPTION_KEY": newKey, "LOG_LEVEL": "warning"]
        // Without the previous key the old values cannot be opened: the run stops and writes nothing.
        let refused = try await ZakOpsProcess.run(["secrets", "rotate"], environment: environment)
        #expect(refused.status != 0 && refused.stderr.contains("DATA_ENCRYPTION_KEY_PREVIOUS"))
        var withPrevious = environment
        withPrevious["DATA_ENCRYPTION_KEY_PREVIOUS"] = oldKey
        let dry = try await ZakOpsProcess.run(["secrets", "rotate", "--dry-run", "--json"], environment: withPrevious)
        #expect(dry.status == 0 && dry.stdout.contains(#""dry_run" : true"#))
        let rotated = try await ZakOpsProcess.run(["secrets", "rotate", "--json"], environment: withPrevious)
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(rotated.stdout.utf8)) as? [String: Any])
        #expect((result["mails"] as? Int ?? 0) >= 1)
        // The new key alone now opens everything: the server without the previous key reads the link.
        try await TestServer.run(location: location, migrate: false, mailThroughOutbox: true, configure: { $0.dataEncryptionKey = Secret(newKey) }) { server in
            let password = TestServer.password()
            let token = try await server.lastLinkToken(to: member.email)
            let reset = try await server.completeReset(token: token, password: password)
            #expect(reset.status == .noContent)
            let rotations = try await server.auditEntries("secrets.rotated")
            #expect(rotations.map(\.actor) == ["cli"])
        }
    }
}
