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

/// Brute-force protection: a growing delay after five failed logins for one address.
@Suite("Login backoff", .serverSlot)
struct LoginBackoffTests {
    /// Trusted proxy on 127.0.0.1, so each attempt can come from a different client address.
    static func configure(_ settings: inout Settings) {
        TestServer.productionLimits(&settings)
        settings.trustedProxies = [CIDR("127.0.0.1/32")!]
    }

    static func attempt(_ server: TestServer, _ email: String, _ password: String, from address: Int) async throws -> RawHTTP.Response {
        try await RateLimitTests.rawLogin(port: server.port, email: email, password: password, headers: ["X-Forwarded-For": "198.51.100.\(address)"])
    }

    @Test("the delay starts after 5 failures from any addresses, holds even for the right password, and ends")
    func delayAfterFiveFailures() async throws {
        try await TestServer.run(configure: Self.configure) { server in
            let account = try await server.createOperator()
            for address in 1...5 {
                #expect(try await Self.attempt(server, account.email, "Wrong-password-\(address)", from: address).status == 401)
            }
            let sessions = try await server.count("sessions")
            let delayed = try await Self.attempt(server, account.email, account.password, from: 50)
            #expect(delayed.status == 429)
            #expect(delayed.body.contains("\"RATE_LIMITED\""))
            #expect(delayed.header("Retry-After").flatMap(Int.init).map { (55...60).contains($0) } == true)
            #expect(try await server.count("sessions") == sessions)
            #expect(server.securityEvents("login_backoff_started").count == 1)
            #expect(server.securityEvents("login_delayed").count == 1)
            // Never permanent: after the minute the right password works, and clears the count.
            server.clock.advance(by: 61)
            #expect(try await Self.attempt(server, account.email, account.password, from: 51).status == 200)
            #expect(try await Self.attempt(server, account.email, "Wrong-password-x", from: 52).status == 401)
            #expect(try await Self.attempt(server, account.email, account.password, from: 53).status == 200)
        }
    }

    @Test("each further failure doubles the delay, up to 15 minutes")
    func delayDoublesToCap() async throws {
        #expect((0...4).map { LoginBackoff.delay(afterFailures: $0) } == [nil, nil, nil, nil, nil])
        #expect((5...12).compactMap { LoginBackoff.delay(afterFailures: $0) } == [60, 120, 240, 480, 900, 900, 900, 900])
        try await TestServer.run(configure: Self.configure) { server in
            let account = try await server.createOperator()
            for address in 1...5 { _ = try await Self.attempt(server, account.email, "Wrong-password-\(address)", from: address) }
            var waits: [Int] = []
            for round in 0..<5 {
                let delayed = try await Self.attempt(server, account.email, "Wrong-password", from: 100 + round)
                #expect(delayed.status == 429)
                let wait = try #require(delayed.header("Retry-After").flatMap(Int.init))
                waits.append(wait)
                server.clock.advance(by: TimeInterval(wait + 1))
                // The next failure, after the wait, starts a longer one.
                #expect(try await Self.attempt(server, account.email, "Wrong-password", from: 110 + round).status == 401)
            }
            #expect(waits.map { ($0 + 5) / 60 } == [1, 2, 4, 8, 15])
        }
    }

    @Test("unknown e-mails get the same answers at the same points, so the delay reveals nothing")
    func unknownAddressesLookTheSame() async throws {
        try await TestServer.run(configure: Self.configure) { server in
            let account = try await server.createOperator()
            let unknown = "nobody-\(RandomToken.base32(RandomToken.bytes(5)).lowercased())@example.com"
            for email in [account.email, unknown] {
                var statuses: [Int] = []
                var bodies: [String] = []
                for address in 1...7 {
                    let response = try await Self.attempt(server, email, "Wrong-password-\(address)", from: address)
                    statuses.append(response.status)
                    bodies.append(String(response.body.replacing(/"request_id":"[^"]*"/, with: "")))
                }
                #expect(statuses == [401, 401, 401, 401, 401, 429, 429], "\(email == unknown ? "unknown" : "known")")
                #expect(Set(bodies.prefix(5)).count == 1)
                #expect(Set(bodies.suffix(2)).count == 1)
            }
        }
    }

    @Test("a burst of parallel attempts sent as a delay ends gets one guess, not one each")
    func parallelBurstGetsOneGuess() async throws {
        try await TestServer.run(configure: Self.configure) { server in
            let account = try await server.createOperator()
            for address in 1...5 { _ = try await Self.attempt(server, account.email, "Wrong-password-\(address)", from: address) }
            server.clock.advance(by: 61)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for address in 20..<30 {
                    group.addTask { try await Self.attempt(server, account.email, "Wrong-password-\(address)", from: address).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 401 }.count == 1, "\(statuses.sorted())")
            #expect(statuses.filter { $0 == 429 }.count == 9)
        }
    }

    @Test("another spelling of the address cannot get limits of its own: login e-mails are ASCII")
    func spellingsShareOrAreRefused() async throws {
        try await TestServer.run(configure: Self.configure) { server in
            let account = try await server.createOperator(email: "admin-\(RandomToken.base32(RandomToken.bytes(4)).lowercased())@example.com")
            for address in 1...5 { _ = try await Self.attempt(server, account.email, "Wrong-password-\(address)", from: address) }
            // Upper case is the same account and the same delay.
            #expect(try await Self.attempt(server, account.email.uppercased(), account.password, from: 40).status == 429)
            // A dotted capital I (lower() maps it to i under a UTF-8 collation) is refused outright.
            let spelled = account.email.replacingOccurrences(of: "admin", with: "adm\u{130}n")
            let refused = try await Self.attempt(server, spelled, account.password, from: 41)
            #expect(refused.status == 400)
            #expect(refused.body.contains("\"VALIDATION_ERROR\""))
        }
    }

    @Test("password reset works while the delay holds, and ends it")
    func resetDuringDelay() async throws {
        try await TestServer.run(configure: Self.configure) { server in
            let account = try await server.createOperator()
            for address in 1...5 { _ = try await Self.attempt(server, account.email, "Wrong-password-\(address)", from: address) }
            #expect(try await Self.attempt(server, account.email, account.password, from: 9).status == 429)
            let request = try await server.client.execute(
                uri: "/api/auth/password/reset/request", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"email":"\#(account.email)"}"#))
            #expect(request.status == .accepted)
            let token = try await RecoveryAndMFATests.resetToken(server)
            let newPassword = TestServer.password()
            let confirm = try await server.client.execute(
                uri: "/api/auth/password/reset/confirm", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"token":"\#(token)","new_password":"\#(newPassword)"}"#))
            #expect(confirm.status == .noContent)
            #expect(try await Self.attempt(server, account.email, newPassword, from: 10).status == 200)
        }
    }
}
