import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsHTTP
import ZakOpsStore
@testable import ZakOpsApp

@Suite("CSRF and access control", .serverSlot)
struct CSRFAndAccessTests {
    static func createServiceAccount(_ server: TestServer, admin: BrowserSession, role: Role) async throws -> (id: String, key: String) {
        let body = try JSONSerialization.data(withJSONObject: ["name": "agent-\(role.rawValue)", "role": role.rawValue])
        let created = try await server.client.execute(uri: "/api/admin/service-accounts", method: .post, headers: admin.headers(), body: ByteBuffer(bytes: body))
        let account = try #require(try JSONSerialization.jsonObject(with: Data(created.body.readableBytesView)) as? [String: Any])
        let id = try #require(account["id"] as? String)
        let keyResponse = try await server.client.execute(uri: "/api/admin/service-accounts/\(id)/keys", method: .post, headers: admin.headers(json: false))
        #expect(keyResponse.status == .created)
        let key = try #require((try JSONSerialization.jsonObject(with: Data(keyResponse.body.readableBytesView)) as? [String: Any])?["key"] as? String)
        return (id, key)
    }

    @Test("cookie-authenticated unsafe requests need this session's CSRF token", arguments: ["missing", "wrong", "other session", "other secret"])
    func csrfToken(variant: String) async throws {
        try await TestServer.run { server in
            let admin = try await server.createOperator(role: .admin)
            let session = try await server.login(admin)
            let other = try await server.login(try await server.createOperator(role: .admin))
            var headers = session.headers()
            switch variant {
            case "missing": headers[HTTPField.Name("X-CSRF-Token")!] = nil
            case "wrong": headers[HTTPField.Name("X-CSRF-Token")!] = "x." + RandomToken.base32(RandomToken.bytes(16)) + ".y"
            case "other session": headers[HTTPField.Name("X-CSRF-Token")!] = other.csrf
            default: headers[HTTPField.Name("X-CSRF-Token")!] = CSRFToken.issue(for: Digest.sha256Hex(session.cookie), keys: KeyRing(current: Secret(TestSecrets.sessionSecret())))
            }
            let before = try await server.count("service_accounts")
            let body = try JSONSerialization.data(withJSONObject: ["name": "agent", "role": "viewer"])
            let response = try await server.client.execute(uri: "/api/admin/service-accounts", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(response.status == .forbidden)
            #expect(response.errorBody?.error.code == "CSRF_FAILED")
            #expect(try await server.count("service_accounts") == before)
            // With the right token the same request succeeds.
            let ok = try await server.client.execute(uri: "/api/admin/service-accounts", method: .post, headers: session.headers(), body: ByteBuffer(bytes: body))
            #expect(ok.status == .created)
        }
    }

    @Test("a token signed with the previous secret still verifies during a rotation")
    func rotation() {
        let old = Secret(TestSecrets.sessionSecret())
        let new = Secret(TestSecrets.sessionSecret())
        let session = Digest.sha256Hex("token")
        let token = CSRFToken.issue(for: session, keys: KeyRing(current: old))
        #expect(CSRFToken.isValid(token, for: session, keys: KeyRing(current: new, previous: old)))
        #expect(!CSRFToken.isValid(token, for: session, keys: KeyRing(current: new)))
    }

    @Test("unsafe requests from a foreign Origin or a cross-site fetch are refused, login included")
    func loginCSRF() async throws {
        try await TestServer.run(configure: { $0.corsOrigins = ["https://app.example.com"] }) { server in
            let account = try await server.createOperator()
            let foreign = try await server.postLogin(email: account.email, password: account.password, extraHeaders: [.origin: "https://evil.example"])
            #expect(foreign.status == .forbidden)
            #expect(foreign.errorBody?.error.code == "CSRF_FAILED")
            let crossSite = try await server.postLogin(email: account.email, password: account.password, extraHeaders: [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"])
            #expect(crossSite.status == .forbidden)
            #expect(try await server.count("sessions") == 0)
            // The test client's requests name `localhost` as their authority: that is the own origin.
            let own = try await server.postLogin(email: account.email, password: account.password, extraHeaders: [.origin: "http://localhost"])
            #expect(own.status == .ok)
            let allowed = try await server.postLogin(email: account.email, password: account.password, extraHeaders: [.origin: "https://app.example.com"])
            #expect(allowed.status == .ok)
        }
    }

    @Test("a bearer request is authenticated by its key alone: a stolen cookie without a key gets nothing")
    func bearerIgnoresCookies() async throws {
        try await TestServer.run { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let (_, key) = try await Self.createServiceAccount(server, admin: admin, role: .viewer)
            // A bogus key next to a valid admin cookie: refused, the cookie is not a fallback.
            var headers = admin.cookieOnly
            headers[.authorization] = "Bearer zk_" + RandomToken.base32(RandomToken.bytes(32))
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: headers).status == .unauthorized)
            // A valid viewer key next to the admin cookie acts as the viewer, without a CSRF token.
            headers[.authorization] = "Bearer \(key)"
            let me = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: headers)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(me.body.readableBytesView)) as? [String: Any])
            #expect(json["kind"] as? String == "service")
            #expect(json["role"] as? String == "viewer")
            let body = try JSONSerialization.data(withJSONObject: ["name": "x", "role": "viewer"])
            headers[.contentType] = "application/json"
            #expect(try await server.client.execute(uri: "/api/admin/service-accounts", method: .post, headers: headers, body: ByteBuffer(bytes: body)).status == .forbidden)
        }
    }

    @Test("revoked keys, unknown keys and disabled service accounts get the same 401")
    func keyRefusals() async throws {
        try await TestServer.run { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let (id, key) = try await Self.createServiceAccount(server, admin: admin, role: .operator)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: [.authorization: "Bearer \(key)"]).status == .ok)
            // Disabled through this instance: refused at the next request, cached or not.
            let disable = try await server.client.execute(uri: "/api/admin/service-accounts/\(id)/disable", method: .post, headers: admin.headers(json: false))
            #expect(disable.status == .noContent)
            let disabled = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: [.authorization: "Bearer \(key)"])
            let unknown = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: [.authorization: "Bearer zk_" + RandomToken.base32(RandomToken.bytes(32))])
            #expect(disabled.status == .unauthorized && unknown.status == .unauthorized)
            func shape(_ response: TestResponse) -> String {
                let e = response.errorBody?.error
                return "\(e?.code ?? "")|\(e?.message ?? "")|\(e?.field ?? "")|\(e?.detail ?? "")"
            }
            #expect(shape(disabled) == shape(unknown))

            let (id2, key2) = try await Self.createServiceAccount(server, admin: admin, role: .viewer)
            let keys = try await server.database.read { sql in
                try await sql.select().column("id").from("api_keys").where("service_account_id", .equal, SQLBind(id2)).all().map { try $0.decode(column: "id", as: String.self) }
            }
            let revoke = try await server.client.execute(uri: "/api/admin/service-accounts/\(id2)/keys/\(keys[0])", method: .delete, headers: admin.headers(json: false))
            #expect(revoke.status == .noContent)
            let revoked = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: [.authorization: "Bearer \(key2)"])
            #expect(revoked.status == .unauthorized)
            #expect(shape(revoked) == shape(unknown))
            // Keys are stored hashed only.
            let stored = try await server.database.read { sql in
                try await sql.select().column("key_hash").from("api_keys").all().map { try $0.decode(column: "key_hash", as: String.self) }
            }
            #expect(stored.contains(Digest.sha256Hex(key2)) && !stored.contains(key2))
        }
    }

    @Test("a valid CSRF token does not excuse a foreign Origin on an authenticated request")
    func originOnAuthenticatedRequests() async throws {
        try await TestServer.run { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            var headers = admin.headers()
            headers[.origin] = "https://evil.example"
            let body = try JSONSerialization.data(withJSONObject: ["name": "agent", "role": "viewer"])
            let response = try await server.client.execute(uri: "/api/admin/service-accounts", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(response.errorBody?.error.code == "CSRF_FAILED")
            #expect(try await server.count("service_accounts") == 0)
        }
    }

    @Test("an agent key cannot mint keys; disabling a service account revokes all its keys at once")
    func serviceAccountControl() async throws {
        try await TestServer.run { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let (id, key) = try await Self.createServiceAccount(server, admin: admin, role: .admin)
            let keysBefore = try await server.count("api_keys")
            let mint = try await server.client.execute(uri: "/api/admin/service-accounts/\(id)/keys", method: .post, headers: [.authorization: "Bearer \(key)"])
            #expect(mint.status == .forbidden)
            #expect(try await server.count("api_keys") == keysBefore)

            let list = try await server.client.execute(uri: "/api/admin/service-accounts/\(id)/keys", method: .get, headers: admin.cookieOnly)
            #expect(list.status == .ok)
            #expect(!list.text.contains(key))
            let disable = try await server.client.execute(uri: "/api/admin/service-accounts/\(id)/disable", method: .post, headers: admin.headers(json: false))
            #expect(disable.status == .noContent)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: [.authorization: "Bearer \(key)"]).status == .unauthorized)
            let live = try await server.database.read { sql in
                try await sql.select().column("id").from("api_keys").where("revoked_at", .is, SQLLiteral.null).all().count
            }
            #expect(live == 0)
        }
    }

    @Test("AUTH_REQUIRED=false grants the development admin only to requests addressed to a loopback name")
    func developmentAdminNeedsLoopbackHost() async throws {
        try await TestServer.run(configure: { $0.authRequired = false }) { server in
            let port = server.port
            let local = try await RawHTTP.get("/api/auth/me", port: port, headers: [:])
            #expect(local.status == 200)
            let rebound = try await RawHTTP.send("GET /api/auth/me HTTP/1.1\r\nHost: rebind.evil.example:\(port)\r\nConnection: close\r\n\r\n", port: port)
            #expect(rebound.status == 401)
            let prefixTrick = try await RawHTTP.send("GET /api/auth/me HTTP/1.1\r\nHost: 127.evil.example\r\nConnection: close\r\n\r\n", port: port)
            #expect(prefixTrick.status == 401)
        }
    }

    @Test("roles map to permissions; service accounts never approve")
    func roles() {
        #expect(Role.viewer.permissions == [.dealsRead, .actionsRead, .eventsRead])
        #expect(Role.operator.permissions == Set(Permission.allCases).subtracting([.adminUsers, .adminSystem, .auditRead]))
        #expect(Role.admin.permissions == Set(Permission.allCases))
        for role in Role.allCases {
            let approves = role.serviceAccountPermissions.contains(.actionsApprove)
            let managesIdentities = role.serviceAccountPermissions.contains(.adminUsers)
            #expect(!approves && !managesIdentities)
        }
    }

    @Test("role × route matrix: each role gets exactly the admin routes its permissions allow")
    func matrix() async throws {
        try await TestServer.run { server in
            for role in Role.allCases {
                let session = try await server.login(try await server.createOperator(role: role))
                let list = try await server.client.execute(uri: "/api/admin/service-accounts", method: .get, headers: session.cookieOnly)
                #expect(list.status == (role == .admin ? .ok : .forbidden), "\(role) GET service-accounts")
                let body = try JSONSerialization.data(withJSONObject: ["name": "agent", "role": "viewer"])
                let before = try await server.count("service_accounts")
                let create = try await server.client.execute(uri: "/api/admin/service-accounts", method: .post, headers: session.headers(), body: ByteBuffer(bytes: body))
                #expect(create.status == (role == .admin ? .created : .forbidden), "\(role) POST service-accounts")
                #expect(try await server.count("service_accounts") == before + (role == .admin ? 1 : 0))
                for path in ["/api/auth/me", "/api/auth/sessions"] {
                    #expect(try await server.client.execute(uri: path, method: .get, headers: session.cookieOnly).status == .ok, "\(role) \(path)")
                }
            }
            // Anonymous: 401 everywhere but the public routes.
            #expect(try await server.client.execute(uri: "/api/admin/service-accounts", method: .get).status == .unauthorized)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get).status == .unauthorized)
        }
    }

    @Test("every /api route declares its access; only login, register and reset are public")
    func everyRouteDeclared() async throws {
        let location = try await TestDatabase.fresh()
        let settings = TestServer.settings(database: location)
        let logger = Bootstrap.logger(for: settings, sink: CapturingLogSink())
        try await Database.withOpened(location, poolSize: 1, deadline: .seconds(5), logger: logger) { database in
            let (router, registry) = try buildRouter(AppComponents(settings: settings, database: database, logger: logger, hasher: TestServer.hasher))
            let publicRoutes: Set<String> = ["/api/auth/login", "/api/auth/logout", "/api/auth/register", "/api/auth/password/reset/request", "/api/auth/password/reset/confirm"]
            let api = router.routes.filter { $0.path.description.hasPrefix("/api") || $0.path.description.hasPrefix("api") }
            #expect(api.count >= 10)
            for route in api where route.method != .head {
                let path = "/" + route.path.description.drop(while: { $0 == "/" })
                let access = registry.access(route.method, path)
                #expect(access != nil, "\(route.method) \(path) declares no access")
                if access == .publicAuth {
                    #expect(publicRoutes.contains(path), "\(route.method) \(path) is public")
                }
            }
        }
    }

    @Test("with AUTH_REQUIRED=false in development, anonymous requests act as the development admin")
    func developmentAdmin() async throws {
        try await TestServer.run(configure: { $0.authRequired = false }) { server in
            let me = try await server.client.execute(uri: "/api/auth/me", method: .get)
            #expect(me.status == .ok)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(me.body.readableBytesView)) as? [String: Any])
            #expect(json["role"] as? String == "admin")
        }
        try await TestServer.run { server in
            let status = try await server.client.execute(uri: "/api/auth/me", method: .get).status
            #expect(status == .unauthorized)
        }
    }
}
