import Foundation
import HTTPTypes
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

@Suite("Login and sessions", .serverSlot)
struct LoginAndSessionTests {
    @Test("login sets the session cookie with exactly the checklist's attributes and answers operator and csrf_token")
    func cookieAttributes() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator(role: .viewer)
            let response = try await server.postLogin(email: account.email, password: account.password)
            #expect(response.status == .ok)
            let cookie = try #require(response.headers[.setCookie])
            let attributes = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(cookie.hasPrefix("__Host-zakops_session="))
            #expect(attributes == ["Path=/", "Max-Age=86400", "Secure", "HttpOnly", "SameSite=Strict"])
            let token = try #require(TestServer.sessionCookie(in: response))
            #expect((Base64URL.decode(token)?.count ?? 0) == 32, "256-bit session id")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
            let op = try #require(json["operator"] as? [String: Any])
            #expect(Set(op.keys) == ["id", "email", "name", "role"])
            #expect(op["role"] as? String == "viewer")
            #expect(json["csrf_token"] is String)
            // The database keeps only the token's hash.
            let stored = try await server.database.read { sql in
                try await sql.select().column("token_hash").from("sessions").all().map { try $0.decode(column: "token_hash", as: String.self) }
            }
            #expect(stored == [Digest.sha256Hex(token)])
        }
    }

    @Test("session fixation: a planted cookie is never adopted and no longer works after login")
    func fixation() async throws {
        try await TestServer.run { server in
            let attacker = try await server.createOperator(role: .viewer)
            let victim = try await server.createOperator(role: .admin)
            // The attacker's own valid session, planted in the victim's browser.
            let planted = try await server.login(attacker)
            let response = try await server.postLogin(email: victim.email, password: victim.password, extraHeaders: [.cookie: "\(SessionCookieName.value)=\(planted.cookie)"])
            #expect(response.status == .ok)
            let issued = try #require(TestServer.sessionCookie(in: response))
            #expect(issued != planted.cookie)
            let me = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: planted.cookieOnly)
            #expect(me.status == .unauthorized)
            // A made-up planted value is not adopted either.
            let madeUp = Base64URL.encode(Data(RandomToken.bytes(32)))
            let second = try await server.postLogin(email: victim.email, password: victim.password, extraHeaders: [.cookie: "\(SessionCookieName.value)=\(madeUp)"])
            #expect(TestServer.sessionCookie(in: second) != madeUp)
        }
    }

    @Test("unknown e-mail, wrong password and disabled account get identical answers")
    func enumeration() async throws {
        try await TestServer.run { server in
            let active = try await server.createOperator()
            let disabled = try await server.createOperator(active: false)
            let attempts = [
                ("nobody-\(RandomToken.base32(RandomToken.bytes(4)))@example.com", TestServer.password()),
                (active.email, TestServer.password()),
                (disabled.email, disabled.password),
            ]
            var bodies: [String] = []
            for (email, password) in attempts {
                let response = try await server.postLogin(email: email, password: password)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.setCookie] == nil)
                let body = try #require(response.errorBody)
                #expect(body.error.code == "INVALID_CREDENTIALS")
                bodies.append("\(body.error.code)|\(body.error.message)|\(body.error.field ?? "")|\(body.error.detail ?? "")")
            }
            #expect(Set(bodies).count == 1)
            #expect(try await server.count("sessions") == 0)
        }
    }

    @Test("idle timeout and absolute expiry end a session on the server")
    func expiry() async throws {
        try await TestServer.run(configure: { $0.sessionIdleTimeout = .seconds(30 * 60) }) { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            server.clock.advance(by: 29 * 60)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
            server.clock.advance(by: 31 * 60)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
            #expect(try await server.count("sessions") == 0)

            // Active all day long, the session still ends at 24 hours.
            let busy = try await server.login(account)
            for _ in 0..<50 {
                server.clock.advance(by: 29 * 60)
                _ = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: busy.cookieOnly)
            }
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: busy.cookieOnly).status == .unauthorized)
        }
    }

    @Test("a session ended through one instance is refused there at once, and on another that had it cached within AUTH_CACHE_SECONDS")
    func revocationAcrossInstances() async throws {
        let location = try await TestDatabase.fresh()
        try await TestServer.run(location: location) { first in
            try await TestServer.run(location: location, migrate: false) { second in
                let account = try await first.createOperator()
                let session = try await first.login(account)
                // Both instances now hold the session in their caches.
                #expect(try await first.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
                #expect(try await second.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
                #expect(try await first.client.execute(uri: "/api/auth/logout", method: .post, headers: session.headers()).status == .noContent)
                #expect(try await first.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
                // The bound is AUTH_CACHE_SECONDS (1 s); on PostgreSQL the notice usually beats it.
                let waited = try await second.refusal(of: session, within: .seconds(1) + Self.slack)
                #expect(waited != nil, "refused on the other instance within the bound")
            }
        }
    }

    @Test("sessions ended through this instance are refused at its next request, although the cache would keep them for 5 s")
    func localInvalidation() async throws {
        try await TestServer.run(configure: { $0.authCacheTTL = .seconds(5) }) { server in
            let account = try await server.createOperator()
            let kept = try await server.login(account)
            let other = try await server.login(account)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: other.cookieOnly).status == .ok)
            // Ending all other sessions: the cached one is refused at the next request, not in 5 s.
            #expect(try await server.client.execute(uri: "/api/auth/sessions/revoke-others", method: .post, headers: kept.headers()).status == .noContent)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: other.cookieOnly).status == .unauthorized)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: kept.cookieOnly).status == .ok)
        }
    }

    @Test("a request a minute after the last moves the session's idle clock, written after the response")
    func lastSeenWrittenOffPath() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            func lastSeen() async throws -> String? {
                try await server.database.read { sql in
                    try await sql.select().column("last_seen_at").from("sessions").where("operator_id", .equal, SQLBind(account.id))
                        .first()?.decode(column: "last_seen_at", as: String.self)
                }
            }
            let before = try #require(try await lastSeen())
            server.clock.advance(by: 61)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
            let expected = Timestamp.string(from: server.clock.now())
            let deadline = ContinuousClock.now + .seconds(10)
            var after = try await lastSeen()
            while after == before, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                after = try await lastSeen()
            }
            #expect(after == expected, "moved to the request's time by the recorder")
            // Within the minute nothing more is noted: the recorder has nothing to write.
            server.clock.advance(by: 30)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
            try await Task.sleep(for: .milliseconds(1_500))
            #expect(try await lastSeen() == expected)
            // 31 minutes of silence after that end the session (the idle timeout counts from it).
            server.clock.advance(by: 31 * 60)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
        }
    }

    /// Slack for a slow test machine on top of a time bound.
    static let slack = Duration.seconds(2)

    @Test("logout deletes the server session, expires the cookie and clears site data")
    func logout() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            let response = try await server.client.execute(uri: "/api/auth/logout", method: .post, headers: session.headers())
            #expect(response.status == .noContent)
            #expect(response.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(response.headers[HTTPField.Name("Clear-Site-Data")!] == "\"cookies\", \"storage\"")
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
            #expect(try await server.count("sessions") == 0)
        }
    }

    @Test("a password change revokes every other session of the user and notifies them")
    func passwordChangeRevokes() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let laptop = try await server.login(account)
            let phone = try await server.login(account)
            let newPassword = TestServer.password()
            let body = try JSONSerialization.data(withJSONObject: ["current_password": account.password, "new_password": newPassword])
            let response = try await server.client.execute(uri: "/api/auth/password/change", method: .post, headers: laptop.headers(), body: ByteBuffer(bytes: body))
            #expect(response.status == .noContent)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: laptop.cookieOnly).status == .ok)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: phone.cookieOnly).status == .unauthorized)
            #expect(try server.mails().contains { $0.contains("Subject: Your ZakOps password was changed") })
            // The old password no longer works; the new one does.
            #expect(try await server.postLogin(email: account.email, password: account.password).status == .unauthorized)
            #expect(try await server.postLogin(email: account.email, password: newPassword).status == .ok)
        }
    }

    @Test("a wrong current password changes nothing")
    func passwordChangeWrongCurrent() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            let body = try JSONSerialization.data(withJSONObject: ["current_password": TestServer.password(), "new_password": TestServer.password()])
            let response = try await server.client.execute(uri: "/api/auth/password/change", method: .post, headers: session.headers(), body: ByteBuffer(bytes: body))
            #expect(response.status == .unauthorized)
            #expect(response.errorBody?.error.field == "current_password")
            #expect(try await server.postLogin(email: account.email, password: account.password).status == .ok)
        }
    }

    @Test("new passwords: too short, too common, over bcrypt's 72 bytes, or containing the e-mail are refused", arguments: [
        ("short", "must be at least 12 characters"),
        ("1qaz2wsx3edc", "is one of the most common passwords"),
        // Common words dressed up to pass the length rule.
        ("password1234", "is one of the most common passwords"),
        ("Password123!", "is one of the most common passwords"),
        ("qwertyuiop123", "is one of the most common passwords"),
        ("P@ssw0rd2024!", "is one of the most common passwords"),
        ("!!Dr4g0n!!2024", "is one of the most common passwords"),
        (String(repeating: "é", count: 37), "must be at most 72 bytes (bcrypt's limit)"),
    ])
    func passwordPolicy(candidate: String, problem: String) async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            let body = try JSONSerialization.data(withJSONObject: ["current_password": account.password, "new_password": candidate])
            let response = try await server.client.execute(uri: "/api/auth/password/change", method: .post, headers: session.headers(), body: ByteBuffer(bytes: body))
            #expect(response.status == .badRequest)
            #expect(response.errorBody?.error.field == "new_password")
            #expect(response.errorBody?.error.detail == problem)
            #expect(try await server.postLogin(email: account.email, password: account.password).status == .ok)
        }
    }

    @Test("the common-password check reads the word inside, not strings of digits and symbols or passphrases")
    func commonPasswordCore() {
        #expect(PasswordPolicy.isCommon("superman2024!!"))
        #expect(PasswordPolicy.isCommon("m0nk3y$$12345"))
        #expect(!PasswordPolicy.isCommon("8#4!9&2*7^1%0"))
        #expect(!PasswordPolicy.isCommon("correct horse battery staple"))
        #expect(!PasswordPolicy.isCommon("pw-k7d2qz4m9xw3"))
    }

    @Test("64 ASCII characters are accepted; a password containing the e-mail's local part is not")
    func passwordPolicyEdges() throws {
        let long = String(RandomToken.base32(RandomToken.bytes(40)).prefix(64))
        #expect(throws: Never.self) { try PasswordPolicy.validate(long, email: "someone@example.com", field: "p") }
        #expect(throws: AppError.self) { try PasswordPolicy.validate("xx-margaret.h-2026!", email: "margaret.h@example.com", field: "p") }
    }

    @Test("a hash made with a lower cost is upgraded at the next successful login")
    func rehash() async throws {
        try await TestServer.run(hasher: PasswordHasher(cost: 11, threads: 1, niceness: 0)) { server in
            let account = try await server.createOperator()  // hashed at cost 10 by the shared test hasher
            func storedCost() async throws -> Int? {
                let hash = try await server.database.read { sql in
                    try await sql.select().column("password_hash").from("operators").where("id", .equal, SQLBind(account.id)).first()?
                        .decode(column: "password_hash", as: String.self)
                }
                return hash.flatMap { PasswordHasher.cost(of: $0) }
            }
            #expect(try await storedCost() == 10)
            #expect(try await server.postLogin(email: account.email, password: TestServer.password()).status == .unauthorized)
            #expect(try await storedCost() == 10, "a failed login changes nothing")
            #expect(try await server.postLogin(email: account.email, password: account.password).status == .ok)
            #expect(try await storedCost() == 11)
            #expect(try await server.postLogin(email: account.email, password: account.password).status == .ok)
        }
    }

    @Test("a login whose password changed while it was being checked gets no session")
    func loginRacingPasswordChange() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let stale = try #require(try await server.database.read { sql in try await OperatorRepository.byID(account.id, in: sql) }).passwordHash
            // The password changes between the login's verification and its session insert.
            let changed = try await TestServer.hasher.hash(TestServer.password())
            try await server.database.transaction { sql in try await OperatorRepository.setPassword(account.id, hash: changed, now: Date(), in: sql) }
            let sessions = server.components.sessions
            #expect(try await sessions.create(operatorID: account.id, verifiedHash: stale, clientIP: nil, userAgent: nil)?.token == nil)
            #expect(try await server.count("sessions") == 0)
        }
    }

    @Test("control characters are refused in new passwords; a NUL-suffixed login never matches")
    func controlCharacters() async throws {
        #expect(throws: AppError.self) { try PasswordPolicy.validate("\u{0}" + TestServer.password(), email: "a@example.com", field: "p") }
        try await TestServer.run { server in
            let account = try await server.createOperator()
            #expect(try await server.postLogin(email: account.email, password: account.password + "\u{0}junk").status == .unauthorized)
        }
    }

    @Test("a user who must reset the password can only see me, log out and change the password")
    func mustReset() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator(role: .admin, mustReset: true)
            let session = try await server.login(account)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
            let sessions = try await server.client.execute(uri: "/api/auth/sessions", method: .get, headers: session.cookieOnly)
            #expect(sessions.status == .forbidden)
            #expect(sessions.errorBody?.error.code == "PASSWORD_RESET_REQUIRED")
            let admin = try await server.client.execute(uri: "/api/admin/service-accounts", method: .get, headers: session.cookieOnly)
            #expect(admin.errorBody?.error.code == "PASSWORD_RESET_REQUIRED")
            let body = try JSONSerialization.data(withJSONObject: ["current_password": account.password, "new_password": TestServer.password()])
            #expect(try await server.client.execute(uri: "/api/auth/password/change", method: .post, headers: session.headers(), body: ByteBuffer(bytes: body)).status == .noContent)
            #expect(try await server.client.execute(uri: "/api/auth/sessions", method: .get, headers: session.cookieOnly).status == .ok)
        }
    }

    @Test("the sessions list shows the current one; another can be revoked, a stranger's cannot")
    func sessionsList() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let stranger = try await server.createOperator()
            let first = try await server.login(account)
            let second = try await server.login(account)
            let theirs = try await server.login(stranger)
            let list = try await server.client.execute(uri: "/api/auth/sessions", method: .get, headers: first.cookieOnly)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(list.body.readableBytesView)) as? [String: Any])
            let sessions = try #require(json["sessions"] as? [[String: Any]])
            #expect(sessions.count == 2)
            #expect(sessions.filter { $0["current"] as? Bool == true }.count == 1)
            #expect(sessions.allSatisfy { ($0["id"] as? String)?.hasPrefix("ses_") == true && $0["client_ip"] != nil })

            let strangerList = try await server.client.execute(uri: "/api/auth/sessions", method: .get, headers: theirs.cookieOnly)
            let strangerID = try #require(((try JSONSerialization.jsonObject(with: Data(strangerList.body.readableBytesView)) as? [String: Any])?["sessions"] as? [[String: Any]])?.first?["id"] as? String)
            let refused = try await server.client.execute(uri: "/api/auth/sessions/\(strangerID)", method: .delete, headers: first.headers(json: false))
            #expect(refused.status == .notFound)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: theirs.cookieOnly).status == .ok)

            let other = try #require(sessions.first { $0["current"] as? Bool == false }?["id"] as? String)
            #expect(try await server.client.execute(uri: "/api/auth/sessions/\(other)", method: .delete, headers: first.headers(json: false)).status == .noContent)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: second.cookieOnly).status == .unauthorized)
        }
    }
}
