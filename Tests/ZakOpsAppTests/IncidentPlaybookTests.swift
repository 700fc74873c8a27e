import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SQLKit
import Synchronization
import Testing
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// The incident playbooks against two instances on one database, from the outside.
@Suite("Incident playbooks", .serverSlot)
struct IncidentPlaybookTests {
    static func bearer(_ key: String) -> HTTPFields { [.authorization: "Bearer \(key)", .contentType: "application/json"] }

    /// Polls `condition` until it holds, for `bound`; then checks once more, after the bound.
    /// Returns when the check that held began (nil if it still does not hold once the bound has
    /// passed). The guarantee under test is "true once the bound has passed"; on a loaded
    /// machine one answer can take longer than the bound itself, so polling alone could run out
    /// of time without ever asking after the bound.
    static func within(_ bound: Duration, _ condition: () async throws -> Bool) async throws -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start <= bound {
            let sent = ContinuousClock.now - start
            if try await condition() { return sent }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition() ? ContinuousClock.now - start : nil
    }

    @Test("auth breach: a dry run changes nothing; the run ends every session and key on both instances, refuses old signed tokens, forces every reset with one mail each, and is one audit entry")
    func authBreach() async throws {
        let location = try await TestDatabase.fresh()
        // One cluster: the instances share the session secret, as production instances do.
        let secret = Secret(TestSecrets.sessionSecret())
        try await TestServer.run(location: location, mailThroughOutbox: true, configure: { $0.sessionSecret = secret }) { first in
            try await TestServer.run(location: location, migrate: false, mailThroughOutbox: true, configure: { $0.sessionSecret = secret }) { second in
                let adminAccount = try await first.createOperator(role: .admin)
                let admin = try await first.login(adminAccount)
                let members = [try await first.createOperator(role: .operator), try await first.createOperator(role: .viewer)]
                let memberSessions = [try await second.login(members[0]), try await first.login(members[1])]
                let (_, key) = try await CSRFAndAccessTests.createServiceAccount(first, admin: admin, role: .operator)
                // Every credential is in both instances' caches.
                for server in [first, second] {
                    for session in memberSessions + [admin] {
                        #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
                    }
                    #expect(try await server.client.execute(uri: "/api/deals", method: .get, headers: Self.bearer(key)).status == .ok)
                }
                let mailsBefore = try await first.queuedMails().count

                let dry = try await first.send(.post, "/api/admin/incidents/auth-breach", as: admin, body: #"{"revoke_keys":true,"dry_run":true}"#)
                #expect(dry.status == .ok)
                let plan = try TestServer.object(dry)
                #expect(plan["dry_run"] as? Bool == true && plan["sessions_revoked"] as? Int == 3 && plan["api_keys_revoked"] as? Int == 1)
                #expect(plan["password_resets_forced"] as? Int == 3 && plan["report_id"] == nil)
                #expect(try await first.count("sessions") == 3)
                #expect(try await first.queuedMails().count == mailsBefore)
                #expect(try await first.auditEntries("incident.auth_breach").isEmpty)
                #expect(try await first.client.execute(uri: "/api/auth/me", method: .get, headers: admin.cookieOnly).status == .ok)

                let run = try await first.send(.post, "/api/admin/incidents/auth-breach", as: admin, body: #"{"revoke_keys":true}"#)
                #expect(run.status == .ok)
                let result = try TestServer.object(run)
                #expect(result["sessions_revoked"] as? Int == 3 && result["api_keys_revoked"] as? Int == 1 && result["key_generation"] as? Int == 1)
                let report = try #require(result["report"] as? [String: Any])
                #expect((report["writes"] as? [[String: Any]])?.contains { $0["action"] as? String == "auth.login" } == true)
                #expect(try await first.count("reports") == 1)

                // Old cookies and the key: refused on both instances within the cache's bound.
                for server in [first, second] {
                    for session in memberSessions + [admin] {
                        #expect(try await server.refusal(of: session, within: .seconds(1) + LoginAndSessionTests.slack) != nil)
                    }
                    let keyRefused = try await Self.within(.seconds(1) + LoginAndSessionTests.slack) {
                        try await server.client.execute(uri: "/api/deals", method: .get, headers: Self.bearer(key)).status == .unauthorized
                    }
                    #expect(keyRefused != nil)
                }
                // Every operator must reset; each was sent exactly one mail with a link.
                for account in members + [adminAccount] {
                    let login = try await second.postLogin(email: account.email, password: account.password)
                    #expect(login.status == .forbidden && login.errorBody?.error.code == "PASSWORD_RESET_REQUIRED")
                }
                let breachMails = try await first.queuedMails().dropFirst(mailsBefore)
                #expect(breachMails.count == 3 && Set(breachMails.map(\.to)) == Set((members + [adminAccount]).map(\.email)))
                #expect(breachMails.allSatisfy { $0.body.contains("security incident") && $0.body.contains("#token=") })
                let entries = try await first.auditEntries("incident.auth_breach")
                #expect(entries.count == 1 && entries[0].actor == adminAccount.id)
                #expect(entries[0].changes.contains(#""sessions_revoked":{"after":3"#))

                // The second instance re-derives its signing keys within a second.
                let adopted = try await Self.within(.seconds(1) + LoginAndSessionTests.slack) { second.components.keys.current.generation == 1 }
                #expect(adopted != nil)
                // A token signed before the breach is refused, even for a new session: the admin
                // resets, signs in on the second instance, and presents a token made with the old keys.
                let password = TestServer.password()
                #expect(try await first.completeReset(token: try await first.lastLinkToken(to: adminAccount.email), password: password).status == .noContent)
                let renewed = try await second.login(TestAccount(id: adminAccount.id, email: adminAccount.email, password: password, role: .admin))
                let oldKeys = KeyRing(current: try #require(first.settings.sessionSecret))
                let forged = BrowserSession(cookie: renewed.cookie, csrf: CSRFToken.issue(for: Digest.sha256Hex(renewed.cookie), keys: oldKeys))
                let deals = try await first.count("deals")
                for server in [first, second] {
                    let refused = try await server.send(.post, "/api/deals", as: forged, body: #"{"canonical_name":"Forged"}"#)
                    #expect(refused.status == .forbidden && refused.errorBody?.error.code == "CSRF_FAILED")
                }
                #expect(try await first.count("deals") == deals)
                // The stored report reads back as it was at the run (its sessions are gone since).
                let reportID = try #require(result["report_id"] as? String)
                let stored = try await second.send(.get, "/api/admin/audit/access/\(reportID)", as: renewed)
                #expect(stored.status == .ok)
                #expect(((try TestServer.object(stored)["report"] as? [String: Any])?["sessions"] as? [[String: Any]])?.count == 3, "\(stored.text.prefix(600))")
                #expect(try await second.send(.get, "/api/admin/audit/access/rpt_aaaaaaaaaaaaaaaa", as: renewed).status == .notFound)
                let genuine = try await first.send(.post, "/api/deals", as: renewed, body: #"{"canonical_name":"Genuine"}"#)
                #expect(genuine.status == .created, "\(genuine.text)")
            }
        }
    }

    @Test("lockdown: operators and API keys get 503 LOCKDOWN on both instances, admins go on, webhooks wait, streams close, it survives a restart")
    func lockdown() async throws {
        let location = try await TestDatabase.fresh()
        let memberAccount = Mutex<TestAccount?>(nil)
        try await TestServer.run(location: location) { first in
            try await TestServer.run(location: location, migrate: false) { second in
                let admin = try await first.login(try await first.createOperator(role: .admin))
                let member = try await first.createOperator(role: .operator)
                memberAccount.withLock { $0 = member }
                let memberSession = try await second.login(member)
                let (_, key) = try await CSRFAndAccessTests.createServiceAccount(first, admin: admin, role: .operator)
                let stream = try SSEClient(port: second.port, headers: ["Cookie": "\(SessionCookieName.value)=\(memberSession.cookie)"])
                defer { stream.close() }
                #expect(try await stream.wait { $0.status == 200 })
                try await first.database.transaction { sql in
                    _ = try await OutboxRepository.enqueue(consumer: "webhook:wh_missing", eventType: "deal.created", payload: "{}", at: Date(), in: sql)
                }

                let on = try await first.send(.post, "/api/admin/incidents/lockdown", as: admin, body: #"{"on":true}"#)
                #expect(on.status == .ok)
                #expect(try TestServer.object(on)["lockdown"] as? Bool == true)
                let deals = try await first.count("deals")
                for server in [first, second] {
                    let refused = try await Self.within(.seconds(1) + LoginAndSessionTests.slack) {
                        try await server.client.execute(uri: "/api/auth/me", method: .get, headers: memberSession.cookieOnly).status == .serviceUnavailable
                    }
                    #expect(refused != nil)
                    #expect(try await server.send(.post, "/api/deals", as: memberSession, body: #"{"canonical_name":"During"}"#).status == .serviceUnavailable)
                    let response = try await server.client.execute(uri: "/api/deals", method: .get, headers: memberSession.cookieOnly)
                    #expect(response.status == .serviceUnavailable && response.errorBody?.error.code == "LOCKDOWN" && response.headers[.retryAfter] != nil)
                    #expect(try await server.client.execute(uri: "/api/deals", method: .get, headers: Self.bearer(key)).status == .serviceUnavailable)
                    #expect(try await server.client.execute(uri: "/api/admin/users", method: .get, headers: admin.cookieOnly).status == .ok)
                    #expect(try await server.client.execute(uri: "/health/live", method: .get).status == .ok)
                    let login = try await server.postLogin(email: member.email, password: member.password)
                    #expect(login.status == .serviceUnavailable && TestServer.sessionCookie(in: login) == nil)
                }
                #expect(try await first.count("deals") == deals)
                // A refused request does not count as activity: the session's idle clock stays.
                func lastSeen() async throws -> String? {
                    try await second.database.read { sql in
                        try await sql.select().column("last_seen_at").from("sessions").where("operator_id", .equal, SQLBind(member.id)).first()?
                            .decode(column: "last_seen_at", as: String.self)
                    }
                }
                let seenBefore = try await lastSeen()
                second.clock.advance(by: 120)
                second.components.credentials.invalidateAll()
                #expect(try await second.client.execute(uri: "/api/auth/me", method: .get, headers: memberSession.cookieOnly).status == .serviceUnavailable)
                await second.components.lastSeen.flush()
                #expect(try await lastSeen() == seenBefore)
                #expect(try await stream.wait { $0.isClosed && $0.body.contains("lockdown") })
                // Webhooks are held back: the processor claims nothing for them.
                #expect(try await first.components.outboxProcessor.runOnce() == 0)
                #expect(try await first.auditEntries("incident.lockdown_on").count == 1)
                // Asking again changes nothing and records nothing.
                #expect(try TestServer.object(try await first.send(.post, "/api/admin/incidents/lockdown", as: admin, body: #"{"on":true}"#))["changed"] as? Bool == false)
                #expect(try await first.auditEntries("incident.lockdown_on").count == 1)
            }
        }
        // A restarted instance refuses from its first request.
        let member = try #require(memberAccount.withLock { $0 })
        try await TestServer.run(location: location, migrate: false) { restarted in
            let login = try await restarted.postLogin(email: member.email, password: member.password)
            #expect(login.status == .serviceUnavailable)
            let off = try await IncidentService(database: restarted.database, users: restarted.components.users).setLockdown(false, at: Date())
            #expect(off.changed)
            // Within the runtime poll, operators are served again.
            let served = try await Self.within(.seconds(1) + LoginAndSessionTests.slack) {
                try await restarted.postLogin(email: member.email, password: member.password).status == .ok
            }
            #expect(served != nil)
            #expect(try await restarted.auditEntries("incident.lockdown_off").map(\.actor) == ["cli"])
        }
    }
}
