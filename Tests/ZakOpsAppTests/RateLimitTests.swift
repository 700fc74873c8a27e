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

/// The checklist's rate limits, from the outside: real sockets, the configured defaults.
@Suite("Rate limits", .serverSlot)
struct RateLimitTests {
    static func loginBody(_ email: String, _ password: String = "Wrong-" + RandomToken.base32(RandomToken.bytes(8))) -> String {
        #"{"email":"\#(email)","password":"\#(password)"}"#
    }

    static func rawLogin(port: Int, email: String, password: String? = nil, source: String? = nil, headers: [String: String] = [:]) async throws -> RawHTTP.Response {
        let body = password.map { loginBody(email, $0) } ?? loginBody(email)
        var request = "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        return try await RawHTTP.send(request + "\r\n" + body, port: port, source: source)
    }

    static func randomEmail() -> String { "nobody-\(RandomToken.base32(RandomToken.bytes(5)).lowercased())@example.com" }

    @Test("/api/auth: the 11th unsafe request in a minute from one address is 429 with Retry-After; forged X-Forwarded-For does not help")
    func authLimitPerAddress() async throws {
        try await TestServer.run(configure: TestServer.productionLimits) { server in
            for attempt in 1...10 {
                // Forged X-Forwarded-For (ignored: the peer is not a trusted proxy), and a new e-mail
                // each time, so that neither the per-account limit nor the backoff is what answers.
                let response = try await Self.rawLogin(port: server.port, email: Self.randomEmail(), headers: ["X-Forwarded-For": "198.51.100.\(attempt)"])
                #expect(response.status == 401)
                #expect(response.header("RateLimit-Policy") == #""auth";q=10;w=60"#)
                #expect(response.header("RateLimit")?.hasPrefix(#""auth";r=\#(10 - attempt);t="#) == true, "\(attempt)")
            }
            let account = try await server.createOperator()
            let sessionsBefore = try await server.count("sessions")
            for forged in ["203.0.113.7", "203.0.113.8, 198.51.100.99", "::1"] {
                // Even the right password is refused, and no session is made.
                let refused = try await Self.rawLogin(port: server.port, email: account.email, password: account.password, headers: ["X-Forwarded-For": forged])
                #expect(refused.status == 429)
                #expect(refused.body.contains("\"RATE_LIMITED\""))
                let retryAfter = try #require(refused.header("Retry-After").flatMap(Int.init))
                #expect((1...60).contains(retryAfter))
                #expect(refused.header("Set-Cookie") == nil)
            }
            #expect(try await server.count("sessions") == sessionsBefore)
            // The limit applies to unsafe auth requests; reads of one's own identity are API requests.
            // (A fresh connection: the test client's kept-alive one may have idled out meanwhile.)
            #expect(try await RawHTTP.get("/api/auth/me", port: server.port).status == 401)
            // The violation is a security event naming the address and group, never the credential.
            let events = server.securityEvents("rate_limited")
            #expect(events.count == 3)
            #expect(events.allSatisfy { $0["client_ip"] as? String == "127.0.0.1" && $0["group"] as? String == "auth" })
            #expect(!server.log.text.contains(account.password))
            // Once those requests have left the rolling window (a minute and at most one 10 s bucket), allowed again.
            server.clock.advance(by: 70)
            let again = try await Self.rawLogin(port: server.port, email: account.email, password: account.password)
            #expect(again.status == 200)
        }
    }

    @Test("/api: 60 a minute per principal, counted across addresses, while another principal is unaffected")
    func apiLimitPerPrincipal() async throws {
        try await TestServer.run(configure: TestServer.productionLimits) { server in
            let first = try await server.login(try await server.createOperator())
            let second = try await server.login(try await server.createOperator())
            for attempt in 1...60 {
                let response = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: first.headers(json: false))
                #expect(response.status == .ok, "\(attempt)")
                #expect(response.headers[HTTPField.Name("RateLimit-Policy")!] == #""api";q=60;w=60"#)
            }
            let refused = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: first.headers(json: false))
            #expect(refused.status == .tooManyRequests)
            #expect(refused.errorBody?.error.code == "RATE_LIMITED")
            #expect(refused.headers[.retryAfter].flatMap(Int.init) != nil)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: second.headers(json: false)).status == .ok)
            let event = try #require(server.securityEvents("rate_limited").last)
            #expect(event["group"] as? String == "api")
            // Refused before authentication: the event names the session by its stored hash's
            // first 16 hex digits, never by the token.
            #expect(event["credential_ref"] as? String == String(Digest.sha256Hex(first.cookie).prefix(16)))
            // Health checks are never limited.
            for _ in 1...70 { #expect(try await server.client.execute(uri: "/health/live", method: .get).status == .ok) }
        }
    }

    @Test("guessing API keys counts against the guesser's address, on any path: after 60 refusals, 429 instead of 401")
    func refusedKeysAreLimited() async throws {
        try await TestServer.run(configure: TestServer.productionLimits) { server in
            for attempt in 1...60 {
                let guess: HTTPFields = [.authorization: "Bearer zk_" + RandomToken.base32(RandomToken.bytes(32))]
                // Half of them outside /api, where nothing else is limited.
                let path = attempt.isMultiple(of: 2) ? "/openapi.json" : "/api/auth/me"
                let status = try await server.client.execute(uri: path, method: .get, headers: guess).status
                #expect(status == .unauthorized)
            }
            let guess: HTTPFields = [.authorization: "Bearer zk_" + RandomToken.base32(RandomToken.bytes(32))]
            let status = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: guess).status
            #expect(status == .tooManyRequests)
        }
    }

    @Test("limits run before authentication: a refused flood of made-up keys, cookies or anonymous requests makes no query; health never looks at credentials")
    func refusedFloodMakesNoQuery() async throws {
        try await TestServer.run(configure: { settings in
            TestServer.productionLimits(&settings)
            // No timer-driven queries (event feed, janitor) while queries are counted.
            settings.ssePollIntervalMilliseconds = 3_600_000
            settings.runtimePollIntervalMilliseconds = 3_600_000
            settings.rateLimitCleanupInterval = .seconds(3_600)
        }) { server in
            func guess() -> HTTPFields { [.authorization: "Bearer zk_" + RandomToken.base32(RandomToken.bytes(32))] }
            func madeUpCookie() -> HTTPFields { [.cookie: "\(SessionCookieName.value)=" + RandomToken.base32(RandomToken.bytes(32))] }
            // A cookie too long to be a token is refused like one naming no session.
            func overlongCookie() -> HTTPFields { [.cookie: "\(SessionCookieName.value)=" + String(repeating: "A", count: 200)] }
            // 60 refused credentials (keys, cookies, over-long cookies) use up this address's budget...
            for attempt in 1...60 {
                let headers = attempt % 3 == 0 ? guess() : (attempt % 3 == 1 ? madeUpCookie() : overlongCookie())
                let status = try await server.client.execute(uri: "/api/deals", method: .get, headers: headers).status
                #expect(status == .unauthorized)
            }
            // ...then every further credential from it is refused before authentication.
            let before = server.database.leases
            for attempt in 1...40 {
                let headers = attempt.isMultiple(of: 2) ? guess() : madeUpCookie()
                let path = attempt.isMultiple(of: 3) ? "/openapi.json" : "/api/deals"
                #expect(try await server.client.execute(uri: path, method: .get, headers: headers).status == .tooManyRequests)
            }
            // Unsafe auth routes too: a made-up key on logout is refused before any lookup.
            var logout = guess()
            logout[.contentType] = "application/json"
            #expect(try await server.client.execute(uri: "/api/auth/logout", method: .post, headers: logout).status == .tooManyRequests)
            #expect(server.database.leases == before, "refused requests reached the database")
            // Health checks answer whatever credential they carry, and never query for it.
            let health = server.database.leases
            for _ in 1...20 { #expect(try await server.client.execute(uri: "/health/live", method: .get, headers: guess()).status == .ok) }
            // However the path is spelled: the router and both middlewares agree on what is health.
            for path in ["//health/live", "/health"] {
                _ = try await server.client.execute(uri: path, method: .get, headers: guess())
            }
            #expect(server.database.leases == health)
        }
        // Anonymous requests over the address's /api budget: refused without a query.
        try await TestServer.run(configure: { settings in
            TestServer.productionLimits(&settings)
            settings.ssePollIntervalMilliseconds = 3_600_000
            settings.runtimePollIntervalMilliseconds = 3_600_000
            settings.rateLimitCleanupInterval = .seconds(3_600)
        }) { server in
            for _ in 1...60 { _ = try await server.client.execute(uri: "/api/deals", method: .get) }
            let before = server.database.leases
            for _ in 1...20 { #expect(try await server.client.execute(uri: "/api/deals", method: .get).status == .tooManyRequests) }
            #expect(server.database.leases == before)
        }
    }

    @Test("an IPv6 client counts by its /64: rotating the interface bits does not escape the limit")
    func ipv6CountsByPrefix() async throws {
        try await TestServer.run(configure: { settings in
            TestServer.productionLimits(&settings)
            settings.trustedProxies = [CIDR("127.0.0.1/32")!]
        }) { server in
            for host in 1...10 {
                let response = try await Self.rawLogin(port: server.port, email: Self.randomEmail(), headers: ["X-Forwarded-For": "2001:db8:1:2::\(String(host, radix: 16))"])
                #expect(response.status == 401)
            }
            let sameNetwork = try await Self.rawLogin(port: server.port, email: Self.randomEmail(), headers: ["X-Forwarded-For": "2001:db8:1:2:ffff:eeee:dddd:cccc"])
            #expect(sameNetwork.status == 429)
            let otherNetwork = try await Self.rawLogin(port: server.port, email: Self.randomEmail(), headers: ["X-Forwarded-For": "2001:db8:1:3::1"])
            #expect(otherNetwork.status == 401)
            #expect(server.securityEvents("rate_limited").first?["client_ip"] as? String == "2001:db8:1:2:ffff:eeee:dddd:cccc")
        }
    }

    @Test("logins for one account are limited across addresses (credential stuffing from many IPs)")
    func loginLimitPerAccount() async throws {
        try await TestServer.run(configure: { settings in
            TestServer.productionLimits(&settings)
            settings.trustedProxies = [CIDR("127.0.0.1/32")!]
        }) { server in
            let account = try await server.createOperator()
            // Successful logins, so that the failure backoff plays no part: only the per-account limit.
            for attempt in 1...10 {
                let response = try await Self.rawLogin(port: server.port, email: account.email, password: account.password, headers: ["X-Forwarded-For": "198.51.100.\(attempt)"])
                #expect(response.status == 200, "\(attempt)")
            }
            let sessions = try await server.count("sessions")
            let refused = try await Self.rawLogin(port: server.port, email: account.email.uppercased(), password: account.password, headers: ["X-Forwarded-For": "198.51.100.200"])
            #expect(refused.status == 429)
            #expect(refused.header("Retry-After") != nil)
            #expect(try await server.count("sessions") == sessions)
            #expect(server.securityEvents("rate_limited").last?["group"] as? String == "login-account")
            // Another account from the same addresses is unaffected.
            let other = try await server.createOperator()
            let allowed = try await Self.rawLogin(port: server.port, email: other.email, password: other.password, headers: ["X-Forwarded-For": "198.51.100.201"])
            #expect(allowed.status == 200)
        }
    }

    @Test("two instances on one database share the limit: PostgreSQL allows 10 logins a minute in total")
    func sharedBetweenInstances() async throws {
        let location = try await TestDatabase.fresh()
        try await TestServer.run(location: location, configure: TestServer.productionLimits) { first in
            try await TestServer.run(location: location, migrate: false, configure: TestServer.productionLimits) { second in
                // Each test server's clock starts at its own creation; on a loaded machine the
                // two can fall on either side of a minute boundary, in different windows. One
                // instant for both, as two hosts with synchronized clocks would have.
                let offset = first.clock.now().timeIntervalSince(second.clock.now())
                if offset > 0 { second.clock.advance(by: offset) } else { first.clock.advance(by: -offset) }
                var statuses: [Int] = []
                for attempt in 0..<12 {
                    let port = attempt.isMultiple(of: 2) ? first.port : second.port
                    statuses.append(try await Self.rawLogin(port: port, email: Self.randomEmail()).status)
                }
                switch location {
                case .postgres:
                    #expect(statuses.filter { $0 == 401 }.count == 10)
                    #expect(statuses.suffix(2) == [429, 429])
                case .sqlite:
                    // SQLite serves one instance: each process counts in its own memory (documented).
                    #expect(statuses.allSatisfy { $0 == 401 })
                }
            }
        }
    }

    @Test("two instances share the API limit: never more than 60 a minute in total, and at most 5 % per instance refused early")
    func sharedAPILimit() async throws {
        let location = try await TestDatabase.fresh()
        try await TestServer.run(location: location, configure: TestServer.productionLimits) { first in
            try await TestServer.run(location: location, migrate: false, configure: TestServer.productionLimits) { second in
                let session = try await first.login(try await first.createOperator())
                var allowed = 0
                for attempt in 0..<70 {
                    let server = attempt.isMultiple(of: 2) ? first : second
                    let status = try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.headers(json: false)).status
                    if status == .ok { allowed += 1 } else { #expect(status == .tooManyRequests) }
                }
                switch location {
                case .postgres: #expect((54...60).contains(allowed), "allowed \(allowed)")
                case .sqlite: #expect(allowed == 70)
                }
            }
        }
    }

    @Test("concurrent requests of one principal at the start of a window are all counted once (one reservation in flight)")
    func concurrentFirstRequests() async throws {
        try await TestServer.run(configure: TestServer.productionLimits) { server in
            let session = try await server.login(try await server.createOperator())
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<30 {
                    group.addTask { try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.headers(json: false)).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .ok })
            // 30 used of 60: 30 more are allowed, then the limit holds.
            var more = 0
            for _ in 0..<40 where try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.headers(json: false)).status == .ok {
                more += 1
            }
            #expect((27...30).contains(more), "\(more)")
        }
    }
}
