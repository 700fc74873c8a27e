import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// User administration (`/api/admin/users*`), from the outside: what an admin can do, what
/// anyone else is refused, and that a refusal changes nothing.
@Suite("User administration", .serverSlot)
struct UserAdminTests {
    @Test("an invitation sends a single-use link and no password crosses the API; the invited person sets one and signs in")
    func invitation() async throws {
        try await TestServer.run(mailThroughOutbox: true) { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            // A password in the invitation is refused, and nothing is created.
            let before = try await server.count("operators")
            let withPassword = try await server.send(.post, "/api/admin/users", as: admin,
                                                     body: #"{"email":"new@example.com","name":"New","role":"operator","password":"Chosen-by-admin-1"}"#)
            #expect(withPassword.status == .badRequest)
            #expect(try await server.count("operators") == before)

            let invited = try await server.send(.post, "/api/admin/users", as: admin, body: #"{"email":"new@example.com","name":"New","role":"operator"}"#)
            #expect(invited.status == .created)
            let user = try TestServer.object(invited)
            let id = try #require(user["id"] as? String)
            #expect(user["status"] as? String == "active" && user["role"] as? String == "operator")
            #expect(invited.headers[.location] == "/api/admin/users/\(id)")
            // The same address again is a conflict, not a second account.
            #expect(try await server.send(.post, "/api/admin/users", as: admin, body: #"{"email":"NEW@example.com","name":"N","role":"viewer"}"#).status == .conflict)

            let token = try await server.lastLinkToken(to: "new@example.com")
            let password = TestServer.password()
            #expect(try await server.completeReset(token: token, password: password).status == .noContent)
            #expect(try await server.completeReset(token: token, password: TestServer.password()).status == .badRequest, "the link works once")
            _ = try await server.login(TestAccount(id: id, email: "new@example.com", password: password, role: .operator))
            #expect(try await server.auditEntries("user.invited").map(\.target) == [id])
        }
    }

    @Test("list with filters and a cursor; role changes take effect at the next request; disable, enable, revoke sessions")
    func listAndChange() async throws {
        try await TestServer.run(configure: { $0.authCacheTTL = .seconds(5) }) { server in
            let adminAccount = try await server.createOperator(role: .admin)
            let admin = try await server.login(adminAccount)
            let member = try await server.createOperator(role: .operator)
            _ = try await server.createOperator(role: .viewer)
            _ = try await server.createOperator(role: .viewer)
            let memberSession = try await server.login(member)

            let first = try TestServer.object(try await server.send(.get, "/api/admin/users?limit=2", as: admin))
            let firstUsers = try #require(first["users"] as? [[String: Any]])
            let cursor = try #require(first["next_cursor"] as? String)
            let rest = try TestServer.object(try await server.send(.get, "/api/admin/users?limit=2&cursor=\(cursor)", as: admin))
            let ids = (firstUsers + (rest["users"] as? [[String: Any]] ?? [])).compactMap { $0["id"] as? String }
            #expect(ids.count == 4 && Set(ids).count == 4)
            let viewers = try TestServer.object(try await server.send(.get, "/api/admin/users?role=viewer", as: admin))
            #expect((viewers["users"] as? [[String: Any]])?.count == 2)
            let listedMember = try #require(firstUsers.first { $0["id"] as? String == member.id } ?? (rest["users"] as? [[String: Any]])?.first { $0["id"] as? String == member.id })
            #expect(listedMember["open_sessions"] as? Int == 1 && listedMember["mfa_enabled"] as? Bool == false)
            #expect(try await server.send(.get, "/api/admin/users?status=sleeping", as: admin).status == .badRequest)
            #expect(try await server.send(.get, "/api/admin/users?cursor=bogus", as: admin).status == .badRequest)

            // The member may create deals; demoted to viewer, the next request may not, although
            // the session is cached for 5 s.
            let deal = #"{"canonical_name":"Acme"}"#
            #expect(try await server.send(.post, "/api/deals", as: memberSession, body: deal).status == .created)
            let demoted = try await server.send(.patch, "/api/admin/users/\(member.id)", as: admin, body: #"{"role":"viewer"}"#)
            #expect(demoted.status == .ok)
            #expect(try TestServer.object(demoted)["changed"] as? Bool == true)
            #expect(try await server.send(.post, "/api/deals", as: memberSession, body: deal).status == .forbidden)
            // Asking again changes nothing and records nothing.
            #expect(try TestServer.object(try await server.send(.patch, "/api/admin/users/\(member.id)", as: admin, body: #"{"role":"viewer"}"#))["changed"] as? Bool == false)
            #expect(try await server.auditEntries("user.updated").count == 1)

            #expect(try await server.send(.post, "/api/admin/users/\(member.id)/disable", as: admin).status == .ok)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: memberSession.cookieOnly).status == .unauthorized)
            #expect(try await server.postLogin(email: member.email, password: member.password).status == .unauthorized)
            #expect(try await server.send(.post, "/api/admin/users/\(member.id)/enable", as: admin).status == .ok)
            let again = try await server.login(member)
            let revoked = try await server.send(.post, "/api/admin/users/\(member.id)/sessions/revoke", as: admin)
            #expect(try TestServer.object(revoked)["count"] as? Int == 1)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: again.cookieOnly).status == .unauthorized)
            #expect(try await server.send(.get, "/api/admin/users/op_doesnotexist", as: admin).status == .notFound)
            #expect(try await server.auditEntries("user.disabled").map(\.actor) == [adminAccount.id])
            #expect(try await server.auditEntries("user.enabled").count == 1)
        }
    }

    @Test("the last active admin can be neither disabled, demoted nor erased; the refusals change nothing")
    func lastAdmin() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator(role: .admin)
            let admin = try await server.login(account)
            let snapshot = try await Self.operatorRow(server, account.id)
            for (method, uri, body) in [(HTTPRequest.Method.post, "/api/admin/users/\(account.id)/disable", nil),
                                        (.patch, "/api/admin/users/\(account.id)", #"{"role":"operator"}"#),
                                        (.delete, "/api/admin/users/\(account.id)", nil)] as [(HTTPRequest.Method, String, String?)] {
                let refused = try await server.send(method, uri, as: admin, body: body)
                #expect(refused.status == .conflict, "\(method) \(uri)")
                #expect(refused.errorBody?.error.code == "CONFLICT")
            }
            #expect(try await Self.operatorRow(server, account.id) == snapshot)
            #expect(try await server.count("audit_log") == 1, "only the sign-in is recorded")
            // An invited admin who has not chosen a password yet cannot act: not counted.
            #expect(try await server.send(.post, "/api/admin/users", as: admin, body: #"{"email":"next@example.com","name":"Next","role":"admin"}"#).status == .created)
            #expect(try await server.send(.post, "/api/admin/users/\(account.id)/disable", as: admin).status == .conflict)

            // With a second active admin, the first may step down.
            let second = try await server.createOperator(role: .admin)
            #expect(try await server.send(.patch, "/api/admin/users/\(account.id)", as: admin, body: #"{"role":"operator"}"#).status == .ok)
            let secondSession = try await server.login(second)
            #expect(try await server.send(.post, "/api/admin/users/\(second.id)/disable", as: secondSession).status == .conflict)
        }
    }

    @Test("operators, viewers and agents are refused every user-administration route, and nothing changes")
    func refusedToNonAdmins() async throws {
        try await TestServer.run { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let target = try await server.createOperator(role: .viewer)
            let (_, key) = try await CSRFAndAccessTests.createServiceAccount(server, admin: admin, role: .admin)
            let member = try await server.login(try await server.createOperator(role: .operator))
            let before = try await Self.operatorRow(server, target.id)
            let operators = try await server.count("operators")
            let requests: [(HTTPRequest.Method, String, String?)] = [
                (.get, "/api/admin/users", nil), (.post, "/api/admin/users", #"{"email":"x@example.com","name":"X","role":"admin"}"#),
                (.patch, "/api/admin/users/\(target.id)", #"{"role":"admin"}"#), (.post, "/api/admin/users/\(target.id)/disable", nil),
                (.post, "/api/admin/users/\(target.id)/force-reset", nil), (.delete, "/api/admin/users/\(target.id)", nil),
            ]
            for (method, uri, body) in requests {
                #expect(try await server.send(method, uri, as: member, body: body).status == .forbidden, "operator: \(method) \(uri)")
                var headers: HTTPFields = [.authorization: "Bearer \(key)", .contentType: "application/json"]
                headers[.accept] = "application/json"
                let agent = try await server.client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
                #expect(agent.status == .forbidden, "agent: \(method) \(uri)")
            }
            #expect(try await Self.operatorRow(server, target.id) == before)
            #expect(try await server.count("operators") == operators)
        }
    }

    @Test("a forced reset refuses sign-in with 403 PASSWORD_RESET_REQUIRED until the mailed link sets a password")
    func forcedReset() async throws {
        try await TestServer.run(mailThroughOutbox: true) { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let member = try await server.createOperator(role: .operator)
            let session = try await server.login(member)
            #expect(try await server.send(.post, "/api/admin/users/\(member.id)/force-reset", as: admin).status == .ok)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
            // A sign-in that checked the password just before the reset gets no session after it
            // (the check is repeated under the row's lock).
            let hash = try #require(try await server.database.read { sql in try await OperatorRepository.byID(member.id, in: sql) }?.passwordHash)
            #expect(try await server.components.sessions.create(operatorID: member.id, verifiedHash: hash, clientIP: nil, userAgent: nil) == nil)
            let refused = try await server.postLogin(email: member.email, password: member.password)
            #expect(refused.status == .forbidden && refused.errorBody?.error.code == "PASSWORD_RESET_REQUIRED")
            #expect(TestServer.sessionCookie(in: refused) == nil)
            // A wrong password still gets the usual answer: only the password's owner learns of the reset.
            #expect(try await server.postLogin(email: member.email, password: TestServer.password()).status == .unauthorized)
            let password = TestServer.password()
            #expect(try await server.completeReset(token: try await server.lastLinkToken(to: member.email), password: password).status == .noContent)
            _ = try await server.login(TestAccount(id: member.id, email: member.email, password: password, role: .operator))
            #expect(try await server.auditEntries("auth.login_failed").contains { $0.target == member.id && $0.changes.contains("reset_required") })
        }
    }

    @Test("erasure removes the person's data and keeps the id in the audit trail; the account can never sign in")
    func erasure() async throws {
        try await TestServer.run { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let member = try await server.createOperator(role: .operator)
            let session = try await server.login(member)
            #expect(try await server.send(.post, "/api/deals", as: session, body: #"{"canonical_name":"Kept"}"#).status == .created)
            let erased = try await server.send(.delete, "/api/admin/users/\(member.id)", as: admin)
            #expect(erased.status == .ok)
            let user = try #require(try TestServer.object(erased)["user"] as? [String: Any])
            #expect(user["status"] as? String == "erased" && user["email"] == nil && user["name"] == nil)
            let row = try await Self.operatorRow(server, member.id)
            #expect(!row.contains(member.email) && row.contains("erased"))
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
            #expect(try await server.postLogin(email: member.email, password: member.password).status == .unauthorized)
            // The deal's author and the audit trail keep the pseudonymous id.
            #expect(try await server.auditEntries("deal.created").map(\.actor) == [member.id])
            let logins = try await server.auditEntries("auth.login")
            #expect(logins.contains { $0.actor == member.id })
            #expect(try await server.send(.post, "/api/admin/users/\(member.id)/enable", as: admin).status == .conflict)
        }
    }

    /// The operator row as text (to compare before and after a refusal).
    static func operatorRow(_ server: TestServer, _ id: String) async throws -> String {
        try await server.database.read { sql in
            let row = try #require(try await sql.select().columns("email", "name", "role", "is_active", "reset_required", "erased_at", "password_hash")
                .from("operators").where("id", .equal, SQLBind(id)).first())
            return [try row.decode(column: "email", as: String.self), try row.decode(column: "name", as: String.self),
                    try row.decode(column: "role", as: String.self), String(try row.decode(column: "is_active", as: Bool.self)),
                    String(try row.decode(column: "reset_required", as: Bool.self)), try row.decode(column: "erased_at", as: String?.self) ?? "-",
                    try row.decode(column: "password_hash", as: String.self)].joined(separator: "|")
        }
    }
}
