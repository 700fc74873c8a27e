import Foundation
import HTTPTypes
import HummingbirdOTP
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsHTTP
import ZakOpsStore
@testable import ZakOpsApp

@Suite("Password reset, TOTP and registration", .serverSlot)
struct RecoveryAndMFATests {
    static func json(_ object: [String: Any]) throws -> ByteBuffer {
        ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]

    /// Waits for a reset mail (it is sent after the answer) whose token is not in `known`, and
    /// for the token's row to be committed, and returns that token. The tests' file mailer
    /// writes the mail inside the request's transaction, so the file can appear before the
    /// commit (a reader that looked at once found no row, or a confirmation an unknown token).
    static func resetToken(_ server: TestServer, besides known: Set<String> = []) async throws -> String {
        for _ in 0..<500 {
            let tokens = try server.mails().filter { $0.contains("Subject: Reset your ZakOps password") }.compactMap { mail -> String? in
                guard let range = mail.range(of: "#token=") else { return nil }
                return String(mail[range.upperBound...].prefix { !$0.isWhitespace })
            }
            if let token = tokens.first(where: { !known.contains($0) }) {
                let hash = Digest.sha256Hex(token)
                let committed = try await server.database.read { sql in
                    try await sql.select().column("token_hash").from("password_reset_tokens").where("token_hash", .equal, SQLBind(hash)).first() != nil
                }
                if committed { return token }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("no reset mail")
    }

    @Test("a reset request answers 202 with the same body whether or not the account exists")
    func requestIsUniform() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let known = try await server.client.execute(uri: "/api/auth/password/reset/request", method: .post, headers: Self.jsonHeaders, body: try Self.json(["email": account.email]))
            let unknown = try await server.client.execute(uri: "/api/auth/password/reset/request", method: .post, headers: Self.jsonHeaders, body: try Self.json(["email": "nobody@example.com"]))
            #expect(known.status == .accepted && unknown.status == .accepted)
            #expect(known.text == unknown.text)
            let token = try await Self.resetToken(server)
            #expect(token.count >= 43)
            // The link is built from PUBLIC_BASE_URL with the token in the fragment only.
            let mail = try #require(try server.mails().first { $0.contains("#token=") })
            #expect(mail.contains("/reset-password#token="))
            #expect(!mail.contains("?token="))
            // Stored hashed only.
            let stored = try await server.database.read { sql in
                try await sql.select().column("token_hash").from("password_reset_tokens").all().map { try $0.decode(column: "token_hash", as: String.self) }
            }
            #expect(stored == [Digest.sha256Hex(token)])
        }
    }

    @Test("confirming sets the password, revokes every session, notifies, does not sign in, and works once")
    func confirm() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            _ = try await server.client.execute(uri: "/api/auth/password/reset/request", method: .post, headers: Self.jsonHeaders, body: try Self.json(["email": account.email]))
            let token = try await Self.resetToken(server)
            let newPassword = TestServer.password()
            let response = try await server.client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: Self.jsonHeaders, body: try Self.json(["token": token, "new_password": newPassword]))
            #expect(response.status == .noContent)
            #expect(response.headers[.setCookie] == nil)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
            #expect(try server.mails().contains { $0.contains("Subject: Your ZakOps password was reset") })
            #expect(try await server.postLogin(email: account.email, password: newPassword).status == .ok)
            // Reuse is refused and changes nothing.
            let again = try await server.client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: Self.jsonHeaders, body: try Self.json(["token": token, "new_password": TestServer.password()]))
            #expect(again.status == .badRequest)
            #expect(again.errorBody?.error.field == "token")
            #expect(try await server.postLogin(email: account.email, password: newPassword).status == .ok)
        }
    }

    @Test("expired and superseded tokens are refused; a refused new password does not use up the token")
    func expiryAndSupersession() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            _ = try await server.client.execute(uri: "/api/auth/password/reset/request", method: .post, headers: Self.jsonHeaders, body: try Self.json(["email": account.email]))
            let first = try await Self.resetToken(server)
            // Within the cooldown a new request does not void the link just sent.
            _ = try await server.client.execute(uri: "/api/auth/password/reset/request", method: .post, headers: Self.jsonHeaders, body: try Self.json(["email": account.email]))
            try await Task.sleep(for: .milliseconds(300))
            #expect(try server.mails().filter { $0.contains("#token=") }.count == 1)
            server.clock.advance(by: 61)
            _ = try await server.client.execute(uri: "/api/auth/password/reset/request", method: .post, headers: Self.jsonHeaders, body: try Self.json(["email": account.email]))
            let second = try await Self.resetToken(server, besides: [first])
            let superseded = try await server.client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: Self.jsonHeaders, body: try Self.json(["token": first, "new_password": TestServer.password()]))
            #expect(superseded.status == .badRequest)

            let weak = try await server.client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: Self.jsonHeaders, body: try Self.json(["token": second, "new_password": "short"]))
            #expect(weak.errorBody?.error.field == "new_password")
            // The refused password did not use up the token: it still works.
            let newPassword = TestServer.password()
            let works = try await server.client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: Self.jsonHeaders, body: try Self.json(["token": second, "new_password": newPassword]))
            #expect(works.status == .noContent)

            // A token left unused for 30 minutes is refused.
            server.clock.advance(by: 2 * 60)
            _ = try await server.client.execute(uri: "/api/auth/password/reset/request", method: .post, headers: Self.jsonHeaders, body: try Self.json(["email": account.email]))
            let third = try await Self.resetToken(server, besides: [first, second])
            server.clock.advance(by: 31 * 60)
            let expired = try await server.client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: Self.jsonHeaders, body: try Self.json(["token": third, "new_password": TestServer.password()]))
            #expect(expired.status == .badRequest)
            #expect(try await server.postLogin(email: account.email, password: newPassword).status == .ok)
        }
    }

    @Test("TOTP: once confirmed, login needs a valid code, and a code works only once; turning it on or off ends the other sessions")
    func totp() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            // A second session, in use (so cached) when TOTP is turned on through the first.
            let bystander = try await server.login(account)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: bystander.cookieOnly).status == .ok)
            let noPassword = try await server.client.execute(uri: "/api/auth/mfa/totp/setup", method: .post, headers: session.headers(), body: try Self.json(["password": TestServer.password()]))
            #expect(noPassword.status == .unauthorized, "setup needs the account's password")
            let setup = try await server.client.execute(uri: "/api/auth/mfa/totp/setup", method: .post, headers: session.headers(), body: try Self.json(["password": account.password]))
            #expect(setup.status == .ok)
            let secret = try await server.database.read { sql in
                try await sql.select().column("totp_secret").from("operators").where("id", .equal, SQLBind(account.id)).first()?.decode(column: "totp_secret", as: String.self)
            }
            // Stored sealed: the seed shown at setup is not in the row, and the row opens only
            // with the server's key and for this operator.
            let stored = try #require(secret)
            let shown = try #require(try JSONSerialization.jsonObject(with: Data(setup.body.readableBytesView)) as? [String: Any])["secret"] as? String
            let seed = try #require(shown)
            #expect(stored.hasPrefix("enc:v1:") && !stored.contains(seed))
            #expect(throws: DataKeyError.notAuthentic) { try server.components.dataKeys.open(stored, context: TOTPService.sealContext("op_other")) }
            let totp = TOTP(secret: try server.components.dataKeys.open(stored, context: TOTPService.sealContext(account.id)))
            func code(_ offset: TimeInterval = 0) -> String {
                String(format: "%06d", totp.compute(date: server.clock.now().addingTimeInterval(offset)))
            }
            let confirm = try await server.client.execute(uri: "/api/auth/mfa/totp/confirm", method: .post, headers: session.headers(), body: try Self.json(["code": code()]))
            #expect(confirm.status == .noContent)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: bystander.cookieOnly).status == .unauthorized)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)

            // Without a code: TOTP_REQUIRED, no session.
            let missing = try await server.postLogin(email: account.email, password: account.password)
            #expect(missing.errorBody?.error.code == "TOTP_REQUIRED")
            #expect(TestServer.sessionCookie(in: missing) == nil)
            // The code already used for confirmation is a replay now.
            let replay = try await server.postLogin(email: account.email, password: account.password, totp: code())
            #expect(replay.status == .unauthorized)
            let wrong = try await server.postLogin(email: account.email, password: account.password, totp: "000000" == code(30) ? "111111" : "000000")
            #expect(wrong.status == .unauthorized)
            server.clock.advance(by: 30)
            let fresh = code()
            #expect(try await server.postLogin(email: account.email, password: account.password, totp: fresh).status == .ok)
            #expect(try await server.postLogin(email: account.email, password: account.password, totp: fresh).status == .unauthorized)
            let sessionsAfter = try await server.count("sessions")

            // Five failures lock TOTP for 15 minutes: even the right code is refused then.
            for _ in 0..<5 {
                _ = try await server.postLogin(email: account.email, password: account.password, totp: "000000" == code() ? "111111" : "000000")
            }
            server.clock.advance(by: 30)
            #expect(try await server.postLogin(email: account.email, password: account.password, totp: code()).status == .unauthorized)
            #expect(try await server.count("sessions") == sessionsAfter)
            server.clock.advance(by: 15 * 60)
            #expect(try await server.postLogin(email: account.email, password: account.password, totp: code()).status == .ok)

            // Disabling needs the password and a fresh code, and tells the user.
            let other = try await server.login(account, totp: { server.clock.advance(by: 30); return code() }())
            server.clock.advance(by: 30)
            let wrongPassword = try await server.client.execute(uri: "/api/auth/mfa/totp/disable", method: .post, headers: other.headers(), body: try Self.json(["password": TestServer.password(), "code": code()]))
            #expect(wrongPassword.status == .unauthorized)
            let wrongCode = try await server.client.execute(uri: "/api/auth/mfa/totp/disable", method: .post, headers: other.headers(), body: try Self.json(["password": account.password, "code": "000000" == code() ? "111111" : "000000"]))
            #expect(wrongCode.status == .badRequest)
            server.clock.advance(by: 30)
            let disabled = try await server.client.execute(uri: "/api/auth/mfa/totp/disable", method: .post, headers: other.headers(), body: try Self.json(["password": account.password, "code": code()]))
            #expect(disabled.status == .noContent)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: other.cookieOnly).status == .ok)
            #expect(try server.mails().filter { $0.contains("Subject: ZakOps two-step sign-in changed") }.count == 2)
            #expect(try await server.postLogin(email: account.email, password: account.password).status == .ok)
        }
    }

    @Test("registration is off by default; when on it answers the same for a taken and a free address, and the registrant waits for approval")
    func registration() async throws {
        let body = try Self.json(["email": "new@example.com", "name": "New", "password": TestServer.password()])
        try await TestServer.run { server in
            let response = try await server.client.execute(uri: "/api/auth/register", method: .post, headers: Self.jsonHeaders, body: body)
            #expect(response.status == .notFound)
            #expect(try await server.count("operators") == 0)
        }
        try await TestServer.run(configure: { $0.allowRegistration = true }) { server in
            let existing = try await server.createOperator(role: .operator)
            let free = try await server.client.execute(uri: "/api/auth/register", method: .post, headers: Self.jsonHeaders, body: body)
            let takenPassword = TestServer.password()
            let taken = try await server.client.execute(uri: "/api/auth/register", method: .post, headers: Self.jsonHeaders,
                                                        body: try Self.json(["email": existing.email.uppercased(), "name": "Impostor", "password": takenPassword]))
            // The same status and body: nothing tells the caller which address was taken.
            #expect(free.status == .accepted && taken.status == .accepted)
            #expect(free.text == taken.text)
            #expect(try await server.count("operators") == 2)
            // The owner of the taken address is told; their account is untouched.
            #expect(try server.mails().contains { $0.contains("To: \(existing.email.uppercased())") && $0.contains("Someone tried to register") })
            _ = try await server.login(existing)
            // The registrant cannot sign in until an admin approves them.
            let password = try #require(try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: String])["password"] ?? ""
            #expect(try await server.postLogin(email: "new@example.com", password: password).status == .unauthorized)
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let pending = try TestServer.object(try await server.send(.get, "/api/admin/users?status=pending", as: admin))
            let id = try #require((pending["users"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(try await server.send(.post, "/api/admin/users/\(id)/enable", as: admin).status == .ok)
            // Approval mails a link to the address: the password given at registration proved
            // nothing about who owns it, and no longer opens the account.
            #expect(try await server.postLogin(email: "new@example.com", password: password).status == .unauthorized)
            let approval = try #require(try server.mails().last { $0.contains("To: new@example.com") && $0.contains("approved") })
            let tokenStart = try #require(approval.range(of: "#token="))
            let token = String(approval[tokenStart.upperBound...].prefix { !$0.isWhitespace })
            let chosen = TestServer.password()
            #expect(try await server.completeReset(token: token, password: chosen).status == .noContent)
            _ = try await server.login(TestAccount(id: id, email: "new@example.com", password: chosen, role: .viewer))
            #expect(try await server.auditEntries("user.approved").map(\.target) == [id])

            let common = try await server.client.execute(uri: "/api/auth/register", method: .post, headers: Self.jsonHeaders, body: try Self.json(["email": "b@example.com", "name": "B", "password": "1qaz2wsx3edc"]))
            #expect(common.status == .badRequest)
            #expect(try await server.count("operators") == 3)
        }
    }
}
