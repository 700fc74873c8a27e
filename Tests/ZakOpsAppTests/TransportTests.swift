import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsHTTP
import ZakOpsStore
@testable import ZakOpsApp

/// Client addresses, proxies, the HTTPS redirect behind a proxy, and credentials in URLs.
@Suite("Transport", .serverSlot)
struct TransportTests {
    static func clientIPs(_ server: TestServer) -> [String] {
        server.logObjects.filter { $0["msg"] as? String == "request" }.compactMap { $0["client_ip"] as? String }
    }

    @Test("X-Forwarded-For is used only from a trusted proxy (127.0.0.2), and then its rightmost untrusted address")
    func forwardedForFromTrustedPeerOnly() async throws {
        try await TestServer.run(configure: { $0.trustedProxies = [CIDR("127.0.0.2/32")!, CIDR("10.0.0.0/8")!] }) { server in
            let forwarded = ["X-Forwarded-For": "192.0.2.66, 203.0.113.9, 10.1.2.3"]
            // From the trusted peer: the client is the rightmost address that is not a proxy.
            _ = try await RawHTTP.send(Self.get("/health/live", port: server.port, forwarded), port: server.port, source: "127.0.0.2")
            // From an untrusted peer the header is ignored: the socket address is the client.
            _ = try await RawHTTP.send(Self.get("/health/live", port: server.port, forwarded), port: server.port, source: "127.0.0.3")
            // A malformed entry stops the walk: the proxy itself is the client then.
            _ = try await RawHTTP.send(Self.get("/health/live", port: server.port, ["X-Forwarded-For": "203.0.113.9, not-an-address"]), port: server.port, source: "127.0.0.2")
            #expect(Self.clientIPs(server) == ["203.0.113.9", "127.0.0.3", "127.0.0.2"])
        }
    }

    @Test("behind a trusted proxy, X-Forwarded-Proto: http is redirected (308) to PUBLIC_BASE_URL, never to the Host header")
    func forwardedProtoRedirect() async throws {
        try await TestServer.run(configure: {
            $0.trustedProxies = [CIDR("127.0.0.2/32")!]
            $0.publicBaseURL = "https://zakops.example.com"
        }) { server in
            let headers = ["X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"]
            var request = "POST /api/auth/login?next=%2Fdeals&x=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\nContent-Length: 2\r\n"
            for (name, value) in headers { request += "\(name): \(value)\r\n" }
            let redirected = try await RawHTTP.send(request + "\r\n{}", port: server.port, source: "127.0.0.2")
            #expect(redirected.status == 308)
            #expect(redirected.header("Location") == "https://zakops.example.com/api/auth/login?next=%2Fdeals&x=1")
            #expect(redirected.header("Strict-Transport-Security") == SecurityHeaders.strictTransportSecurity)
            // "//evil.example" as a path stays a path on our origin.
            let sneaky = try await RawHTTP.send(Self.get("//evil.example/x", port: server.port, headers), port: server.port, source: "127.0.0.2")
            #expect(sneaky.header("Location") == "https://zakops.example.com//evil.example/x")
            // https from the proxy, or the header from an untrusted peer: served normally.
            let secure = try await RawHTTP.send(Self.get("/health/live", port: server.port, ["X-Forwarded-Proto": "https"]), port: server.port, source: "127.0.0.2")
            #expect(secure.status == 200)
            let untrusted = try await RawHTTP.send(Self.get("/health/live", port: server.port, headers), port: server.port, source: "127.0.0.3")
            #expect(untrusted.status == 200)
        }
    }

    @Test("HEALTH_ON_HTTP keeps /health on plain HTTP for load balancers; everything else is redirected")
    func healthOnHTTP() async throws {
        try await TestServer.run(configure: {
            $0.trustedProxies = [CIDR("127.0.0.2/32")!]
            $0.publicBaseURL = "https://zakops.example.com"
            $0.healthOnHTTP = true
        }) { server in
            let headers = ["X-Forwarded-Proto": "http"]
            let health = try await RawHTTP.send(Self.get("/health/ready", port: server.port, headers), port: server.port, source: "127.0.0.2")
            #expect(health.status == 200)
            let api = try await RawHTTP.send(Self.get("/api/auth/me", port: server.port, headers), port: server.port, source: "127.0.0.2")
            #expect(api.status == 308)
        }
    }

    /// Query names, and what the request log shows for each (decoded, or `?` when it does not
    /// look like a name).
    static let sensitiveNames: [(String, String)] = [
        ("password", "password"), ("PASSWORD", "PASSWORD"), ("new_password", "new_password"), ("access_token", "access_token"),
        ("api_key", "api_key"), ("apiKey", "apiKey"), ("X-Api-Key", "X-Api-Key"), ("session", "session"), ("csrf_token", "csrf_token"),
        ("client_secret", "client_secret"), ("totp", "totp"),
        // Percent-encoded names are decoded before the check.
        ("pass%77ord", "password"), ("%74oken", "token"),
        // An API key sent as a bare name, and never written to the log.
        ("zk_" + RandomToken.base32(RandomToken.bytes(32)), "?"),
    ]

    @Test("a credential named in the query string is refused with 400 SENSITIVE_DATA_IN_URL before any handler", arguments: sensitiveNames)
    func sensitiveQueryRefused(name: String, logged: String) async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let sessions = try await server.count("sessions")
            let body = try JSONSerialization.data(withJSONObject: ["email": account.email, "password": account.password])
            let refused = try await server.client.execute(uri: "/api/auth/login?\(name)=\(account.password)", method: .post,
                                                          headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body))
            #expect(refused.status == .badRequest)
            #expect(refused.errorBody?.error.code == "SENSITIVE_DATA_IN_URL")
            #expect(refused.headers[.setCookie] == nil)
            #expect(try await server.count("sessions") == sessions)
            let leaked = server.log.text.contains(account.password)
            #expect(!leaked, "the value must not reach the log")
            #expect(server.logObjects.contains { $0["msg"] as? String == "request" && $0["query_params"] as? String == logged })
            if name.hasPrefix("zk_") { #expect(!server.log.text.contains(name), "the key must not reach the log") }
        }
    }

    @Test("ordinary query parameters pass")
    func ordinaryQueryPasses() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator())
            let response = try await server.client.execute(uri: "/api/auth/me?stage=closing&page=2&sort=updated_at", method: .get, headers: session.headers(json: false))
            #expect(response.status == .ok)
        }
    }

    static func get(_ path: String, port: Int, _ headers: [String: String]) -> String {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        return request + "\r\n"
    }
}

/// CORS: the exact allow-list, nothing else.
@Suite("CORS", .serverSlot)
struct CORSTests {
    static let allowed = "https://app.example.com"
    static func configure(_ settings: inout Settings) { settings.corsOrigins = [allowed, "https://admin.example.com"] }

    @Test("a listed origin gets its own origin back with credentials; Vary: Origin on every response")
    func listedOrigin() async throws {
        try await TestServer.run(configure: Self.configure) { server in
            let session = try await server.login(try await server.createOperator())
            var headers = session.headers(json: false)
            headers[.origin] = Self.allowed
            let response = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: headers)
            #expect(response.status == .ok)
            #expect(response.headers[.accessControlAllowOrigin] == Self.allowed)
            #expect(response.headers[.accessControlAllowCredentials] == "true")
            #expect(response.headers[.vary] == "Origin")
            #expect(response.headers[.accessControlExposeHeaders]?.contains("RateLimit") == true)
            // Error answers are readable by the listed origin too.
            let error = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: [.origin: Self.allowed])
            #expect(error.status == .unauthorized)
            #expect(error.headers[.accessControlAllowOrigin] == Self.allowed)
        }
    }

    @Test("any other origin, null, a look-alike or a wildcard-shaped one gets no CORS header at all", arguments: [
        "https://evil.example", "null", "https://app.example.com.evil.example", "http://app.example.com", "https://APP.example.com", "*",
    ])
    func otherOrigins(origin: String) async throws {
        try await TestServer.run(configure: Self.configure) { server in
            let response = try await server.client.execute(uri: "/health/live", method: .get, headers: [.origin: origin])
            #expect(response.headers[.accessControlAllowOrigin] == nil)
            #expect(response.headers[.accessControlAllowCredentials] == nil)
            #expect(response.headers[.vary] == "Origin")
            let preflight = try await server.client.execute(uri: "/api/auth/login", method: .options, headers: [
                .origin: origin, .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "content-type, x-csrf-token",
            ])
            #expect(preflight.headers[.accessControlAllowOrigin] == nil)
            #expect(preflight.headers[.accessControlAllowMethods] == nil)
            // And an unsafe request from it is refused by the Origin check, changing nothing.
            let sessions = try await server.count("sessions")
            let account = try await server.createOperator()
            let login = try await server.postLogin(email: account.email, password: account.password, extraHeaders: [.origin: origin])
            #expect(login.status == .forbidden)
            #expect(try await server.count("sessions") == sessions)
        }
    }

    @Test("a preflight from a listed origin lists the path's real methods, X-CSRF-Token, and a bounded max-age")
    func preflight() async throws {
        try await TestServer.run(configure: Self.configure) { server in
            let response = try await server.client.execute(uri: "/api/auth/sessions/abc", method: .options, headers: [
                .origin: Self.allowed, .accessControlRequestMethod: "DELETE", .accessControlRequestHeaders: "x-csrf-token",
            ])
            #expect(response.status == .noContent)
            #expect(response.headers[.accessControlAllowOrigin] == Self.allowed)
            #expect(response.headers[.accessControlAllowCredentials] == "true")
            #expect(response.headers[.accessControlAllowMethods] == "DELETE, OPTIONS")
            let allowedHeaders = response.headers[.accessControlAllowHeaders]?.lowercased() ?? ""
            #expect(allowedHeaders.contains("x-csrf-token") && allowedHeaders.contains("content-type"))
            let maxAge = try #require(response.headers[.accessControlMaxAge].flatMap(Int.init))
            #expect((1...7200).contains(maxAge))
            #expect(response.headers[.vary] == "Origin")
            #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        }
    }
}
