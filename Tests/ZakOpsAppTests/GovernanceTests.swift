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

/// Access reviews, evidence bundles, the request log's principal, and the playbooks from the
/// command line against a running server.
@Suite("Access governance and evidence", .serverSlot)
struct GovernanceTests {
    @Test("the access review flags inactive principals, admins without MFA, old keys and keys minted by disabled operators; deprovisioning is a dry run unless applied, and recorded")
    func accessReview() async throws {
        try await TestServer.run { server in
            let adminAccount = try await server.createOperator(role: .admin)
            let admin = try await server.login(adminAccount)
            let idle = try await server.createOperator(role: .viewer, email: "=cmd|calc!A0@example.com")
            let minter = try await server.createOperator(role: .admin)
            let minterSession = try await server.login(minter)
            let (account, _) = try await CSRFAndAccessTests.createServiceAccount(server, admin: minterSession, role: .operator)
            #expect(try await server.send(.post, "/api/admin/users/\(minter.id)/disable", as: admin).status == .ok)
            // The idle viewer and the agent were created long ago and never acted since; the agent's
            // key was minted 200 days ago for a year, before API_KEY_MAX_AGE_DAYS was lowered to 90.
            let old = Timestamp.string(from: server.clock.now().addingTimeInterval(-200 * 86_400))
            let inAMonth = Timestamp.string(from: server.clock.now().addingTimeInterval(30 * 86_400))
            try await server.database.transaction { sql in
                try await sql.update("operators").set("created_at", to: SQLBind(old)).where("id", .equal, SQLBind(idle.id)).run()
                try await sql.update("service_accounts").set("created_at", to: SQLBind(old)).where("id", .equal, SQLBind(account)).run()
                try await sql.update("api_keys").set("created_at", to: SQLBind(old)).set("expires_at", to: SQLBind(inAMonth))
                    .where("service_account_id", .equal, SQLBind(account)).run()
            }
            let report = try TestServer.object(try await server.send(.get, "/api/admin/access-review", as: admin))
            let entries = try #require(report["entries"] as? [[String: Any]])
            func flags(_ id: String) -> [String] { entries.first { $0["id"] as? String == id }?["flags"] as? [String] ?? [] }
            #expect(flags(idle.id) == ["inactive"])
            #expect(flags(adminAccount.id) == ["admin_without_mfa"])
            #expect(Set(flags(account)) == ["inactive", "key_too_old", "key_minted_by_disabled_operator"])
            #expect(flags(minter.id).isEmpty, "a disabled operator has nothing left to flag")

            let operatorsBefore = try await UserAdminTests.operatorRow(server, idle.id)
            let dry = try TestServer.object(try await server.send(.post, "/api/admin/access-review/deprovision", as: admin, body: "{}"))
            #expect(dry["dry_run"] as? Bool == true && Set(dry["disabled"] as? [String] ?? []) == [idle.id, account])
            #expect(try await UserAdminTests.operatorRow(server, idle.id) == operatorsBefore)
            #expect(try await server.auditEntries("access_review.recorded").isEmpty)

            let applied = try TestServer.object(try await server.send(.post, "/api/admin/access-review/deprovision", as: admin, body: #"{"apply":true}"#))
            #expect(Set(applied["disabled"] as? [String] ?? []) == [idle.id, account] && applied["report_id"] as? String != nil)
            let recorded = try await server.auditEntries("access_review.recorded")
            #expect(recorded.count == 1 && recorded[0].actor == adminAccount.id && recorded[0].changes.contains(idle.id))
            #expect(try await server.postLogin(email: idle.email, password: idle.password).status == .unauthorized)

            // The CSV neutralises a value a spreadsheet would run as a formula.
            let csv = AccessReview.csv(try await AccessReview(database: server.database, users: server.components.users,
                                                               serviceAccounts: server.components.serviceAccounts, inactiveDays: 90).report(now: server.clock.now()))
            #expect(csv.hasPrefix("kind,id,name,email,role,status,mfa_enabled,last_activity_at,keys,flags\n"))
            #expect(csv.contains(#""'=cmd|calc!A0@example.com""#))
        }
    }

    @Test("every request line names the principal and a short fingerprint of its session or key, never the credential")
    func requestLogNamesThePrincipal() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator(role: .admin)
            let session = try await server.login(account)
            let (_, key) = try await CSRFAndAccessTests.createServiceAccount(server, admin: session, role: .viewer)
            _ = try await server.client.execute(uri: "/api/deals", method: .get, headers: session.cookieOnly)
            _ = try await server.client.execute(uri: "/api/deals", method: .get, headers: IncidentPlaybookTests.bearer(key))
            let requests = server.logObjects.filter { line in line["msg"] as? String == "request" && line["route"] as? String == "/api/deals" }
            let sessionHash = Digest.sha256Hex(session.cookie)
            let keyHash = Digest.sha256Hex(key)
            let sessionMark = String(sessionHash.prefix(16))
            let keyMark = String(keyHash.prefix(16))
            let byCookie = requests.contains { line in line["principal_id"] as? String == account.id && line["credential_ref"] as? String == sessionMark }
            let byKey = requests.contains { line in (line["principal_id"] as? String ?? "").hasPrefix("sa_") && line["credential_ref"] as? String == keyMark }
            #expect(byCookie)
            #expect(byKey)
            #expect(TestSecrets.leaks(server.log.text, ["cookie": session.cookie, "key": key, "session hash": sessionHash, "key hash": keyHash]) == [])
            // The principal's id is a safe field: never redacted.
            #expect(!Redactor.isSensitiveKey("principal_id"))
        }
    }

    @Test("an evidence bundle verifies; one changed byte in one file, or in the manifest, is detected; no credential is in it")
    func evidence() async throws {
        let location = try await TestDatabase.fresh()
        let secret = TestSecrets.sessionSecret()
        let cookie = try await Self.seed(location: location, secret: secret)
        let folder = try TemporaryFolder.make().appendingPathComponent("evidence")
        let environment = ["DATABASE_URL": TestDatabase.url(location), "SESSION_SECRET": secret, "LOG_LEVEL": "warning"]
        let collected = try await ZakOpsProcess.run(["incident", "evidence", "--out", folder.path, "--json"], environment: environment)
        #expect(collected.status == 0, "\(collected.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["api-keys.jsonl", "audit.jsonl", "manifest.json", "operators.jsonl", "preflight.txt", "security-events.jsonl", "sessions.jsonl", "settings.json"])
        var everything = ""
        for name in names { everything += (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? "" }
        #expect(TestSecrets.leaks(everything, ["session secret": secret, "cookie": cookie, "token hash": Digest.sha256Hex(cookie)]) == [])
        #expect(everything.contains("auth.login") && everything.contains(#""SESSION_SECRET" : "[secret, from environment]""#))
        #expect(try await ZakOpsProcess.run(["incident", "evidence", "--verify", folder.path], environment: environment).status == 0)
        // Into a folder that is not empty: refused.
        #expect(try await ZakOpsProcess.run(["incident", "evidence", "--out", folder.path], environment: environment).status != 0)

        let audit = folder.appendingPathComponent("audit.jsonl")
        var bytes = try Data(contentsOf: audit)
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: audit)
        let tampered = try await ZakOpsProcess.run(["incident", "evidence", "--verify", folder.path], environment: environment)
        #expect(tampered.status != 0 && tampered.stdout.contains("audit.jsonl: changed"))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: audit)
        let manifest = folder.appendingPathComponent("manifest.json")
        let text = try String(contentsOf: manifest, encoding: .utf8)
        try text.replacingOccurrences(of: #""created_by" : "cli""#, with: #""created_by" : "someone""#).write(to: manifest, atomically: true, encoding: .utf8)
        let forged = try await ZakOpsProcess.run(["incident", "evidence", "--verify", folder.path], environment: environment)
        #expect(forged.status != 0 && forged.stdout.contains("signature does not match"))
        // Another secret cannot vouch for the bundle.
        var other = environment
        other["SESSION_SECRET"] = TestSecrets.sessionSecret()
        try text.write(to: manifest, atomically: true, encoding: .utf8)
        #expect(try await ZakOpsProcess.run(["incident", "evidence", "--verify", folder.path], environment: environment).status == 0)
        #expect(try await ZakOpsProcess.run(["incident", "evidence", "--verify", folder.path], environment: other).status != 0)
    }

    /// A database with an operator who signed in; returns the session cookie.
    static func seed(location: DatabaseLocation, secret: String) async throws -> String {
        let cookie = LockedValue("")
        try await TestServer.run(location: location, configure: { $0.sessionSecret = Secret(secret) }) { server in
            let session = try await server.login(try await server.createOperator(role: .admin))
            cookie.set(session.cookie)
        }
        return cookie.value
    }

    @Test("the playbooks from the command line act on a running server: lockdown, role change, the last admin kept, auth-breach dry run, revoke-all, access report")
    func commandLine() async throws {
        try await TestServer.run { server in
            let adminAccount = try await server.createOperator(role: .admin)
            let member = try await server.createOperator(role: .operator)
            let session = try await server.login(member)
            let environment = ["DATABASE_URL": TestDatabase.url(server.settings.database), "LOG_LEVEL": "warning"]
            func zakops(_ arguments: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
                try await ZakOpsProcess.run(arguments, environment: environment)
            }
            #expect(try await zakops("incident", "lockdown", "on", "--dry-run").stdout.contains("DRY RUN"))
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
            #expect(try await zakops("incident", "lockdown", "on").status == 0)
            let locked = try await IncidentPlaybookTests.within(.seconds(1) + LoginAndSessionTests.slack) {
                try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .serviceUnavailable
            }
            #expect(locked != nil)
            #expect(try await zakops("incident", "lockdown", "status").stdout.contains("lockdown: on"))
            #expect(try await zakops("incident", "lockdown", "off").status == 0)

            let promoted = try await zakops("user", "role", "--email", member.email, "viewer", "--json")
            #expect(promoted.status == 0 && promoted.stdout.contains(#""role" : "viewer""#))
            let lastAdmin = try await zakops("user", "disable", "--id", adminAccount.id)
            #expect(lastAdmin.status != 0 && lastAdmin.stderr.contains("last active admin"))
            #expect(try await zakops("user", "disable", "--email", "nobody@example.com").status != 0)
            let listed = try await zakops("users", "list", "--json")
            #expect(listed.status == 0 && listed.stdout.contains(member.id))

            let plan = try await zakops("incident", "auth-breach", "--dry-run", "--json")
            #expect(plan.status == 0 && plan.stdout.contains(#""dry_run" : true"#) && plan.stdout.contains(#""sessions_revoked" : 1"#))
            #expect(try await server.count("sessions") == 1)
            let revoked = try await zakops("sessions", "revoke-all", "--role", "viewer", "--json")
            #expect(revoked.status == 0 && revoked.stdout.contains(#""count" : 1"#))
            #expect(try await server.refusal(of: session, within: .seconds(1) + LoginAndSessionTests.slack) != nil)
            let report = try await zakops("audit", "access", "--since", "1d", "--principal", member.id, "--json")
            #expect(report.status == 0 && report.stdout.contains("auth.login"))
            let review = try await zakops("access-review", "--csv")
            #expect(review.status == 0 && review.stdout.contains(member.id))
            let audited = try await server.auditEntries("incident.sessions_revoked")
            #expect(audited.map(\.actor) == ["cli"])
        }
    }
}

/// A value a `@Sendable` closure sets and the test reads afterwards.
final class LockedValue<Value: Sendable>: Sendable {
    private let state: Mutex<Value>
    init(_ value: Value) { state = Mutex(value) }
    func set(_ value: Value) { state.withLock { $0 = value } }
    var value: Value { state.withLock { $0 } }
}
