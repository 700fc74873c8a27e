import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// Prometheus metrics: where they are served, that they move, that their labels stay bounded.
/// The registry is the process's (one backend per process) and the suite runs in parallel, so
/// tests compare before and after, and a counter may have moved by more than their own event.
@Suite("Metrics", .serverSlot)
struct MetricsTests {
    init() { ZakOpsMetrics.bootstrap() }

    /// The sum of the samples of `name` whose labels contain every pair of `labels`.
    static func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        ZakOpsMetrics.render().split(separator: "\n").filter { line in
            guard line.hasPrefix(name + "{") || line.hasPrefix(name + " ") else { return false }
            return labels.allSatisfy { line.contains("\($0.key)=\"\($0.value)\"") }
        }.compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
    }

    /// How many series of `name` exist for `route` and GET (other suites send other methods
    /// meanwhile).
    static func series(_ name: String, route: String) -> Int {
        ZakOpsMetrics.render().split(separator: "\n").filter { line in
            line.hasPrefix(name + "{") && line.contains("route=\"\(route)\"") && (!line.contains("method=") || line.contains("method=\"GET\""))
        }.count
    }

    @Test("/metrics is served on its own listener with the token, refused without it, and absent from the public listener")
    func listener() async throws {
        var settings = Settings()
        settings.metricsPort = 0
        let token = TestSecrets.sessionSecret()
        settings.metricsToken = Secret(token)
        let app = MetricsListener.application(settings: settings, logger: Logger(label: "test.metrics"))
        try await app.test(.live) { client in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
            let served = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(served.status == .ok && String(buffer: served.body).contains("zakops_build_info"))
        }
        try await TestServer.run { server in
            let status = try await server.client.execute(uri: "/metrics", method: .get, headers: [:]).status
            #expect(status == .notFound)
        }
    }

    @Test("counters move when the events happen: a failed login, a permission denial, a CSRF refusal, a 429, a dead letter")
    func countersMove() async throws {
        try await TestServer.run(configure: TestServer.productionLimits) { server in
            let account = try await server.createOperator(role: .viewer)
            let logins = Self.value("zakops_http_requests_total", ["route": "/api/auth/login", "method": "POST", "status": "4xx"])
            let failures = Self.value("zakops_auth_failures_total", ["reason": "wrong_password"])
            #expect(try await server.postLogin(email: account.email, password: TestServer.password()).status == .unauthorized)
            #expect(Self.value("zakops_auth_failures_total", ["reason": "wrong_password"]) >= failures + 1)

            let viewer = try await server.login(account)
            let denied = Self.value("zakops_permission_denied_total", ["permission": "deals:write"])
            #expect(try await server.send(.post, "/api/deals", as: viewer, body: #"{"canonical_name":"No"}"#).status == .forbidden)
            #expect(Self.value("zakops_permission_denied_total", ["permission": "deals:write"]) >= denied + 1)

            let csrf = Self.value("zakops_csrf_refused_total")
            let forged = BrowserSession(cookie: viewer.cookie, csrf: "forged")
            #expect(try await server.send(.post, "/api/auth/logout", as: forged).status == .forbidden)
            #expect(Self.value("zakops_csrf_refused_total") >= csrf + 1)

            // Too many sign-ins: refused by the login backoff or the auth limit, whichever first.
            let limited = Self.value("zakops_rate_limited_total")
            var attempts = 1
            var refused = false
            for _ in 0..<12 where !refused {
                refused = try await server.postLogin(email: "nobody@example.com", password: "wrong-password-1").status == .tooManyRequests
                attempts += 1
            }
            #expect(refused && Self.value("zakops_rate_limited_total") > limited)
            #expect(Self.value("zakops_http_requests_total", ["route": "/api/auth/login", "method": "POST", "status": "4xx"]) >= logins + Double(attempts))

            try await server.database.transaction { sql in
                _ = try await OutboxRepository.enqueue(consumer: "webhook:wh_metrics", eventType: "deal.created", payload: "{}", at: Date(), in: sql)
                try await sql.update("outbox").set("status", to: SQLBind(OutboxRow.Status.dead.rawValue)).run()
            }
            let certificateEnd = Date(timeIntervalSince1970: 1_900_000_000)
            let gauges = try await MetricsSampler(database: server.database, hub: server.components.eventHub, clock: server.clock,
                                                  settings: server.settings, logger: Logger(label: "test"), certificateExpiry: { certificateEnd }).sample()
            #expect(gauges["zakops_tls_certificate_expiry_timestamp_seconds"] == 1_900_000_000)
            #expect(Self.value("zakops_dlq_size") >= 1 && gauges["zakops_dlq_size"] == 1)
            #expect(Self.value("zakops_sessions_active") >= 1)
            #expect(gauges["zakops_audit_chain_valid"] == 1 && gauges["zakops_sse_connections_limit"] == Double(server.settings.sseMaxConnections))
            // The 429s above came from one address: it caused every refusal of the last minutes
            // this process saw from it (other suites' refusals may share the window).
            #expect(gauges["zakops_rate_limited_top_client_share", default: 0] > 0)
        }
    }

    @Test("a failed webhook delivery and a dead letter are counted, and the delivery is timed")
    func webhookCounters() async throws {
        try await WebhookReceiver.run { url, inbox in
            await inbox.answer(with: .internalServerError)
            try await TestServer.run(configure: { $0.outboxMaxAttempts = 1 }) { server in
                let admin = try await server.login(try await server.createOperator(role: .admin))
                #expect(try await server.send(.post, "/api/admin/webhooks", as: admin, body: #"{"url":"\#(url)","event_types":["*"]}"#).status == .created)
                #expect(try await server.send(.post, "/api/deals", as: admin, body: #"{"canonical_name":"Metered"}"#).status == .created)
                let failures = Self.value("zakops_webhook_delivery_failures_total")
                let dead = Self.value("zakops_outbox_dead_letters_total")
                let timed = Self.value("zakops_webhook_delivery_duration_seconds_count", ["outcome": "failed"])
                try await server.components.outboxProcessor.runOnce()
                #expect(await inbox.deliveries.count >= 1)
                #expect(Self.value("zakops_webhook_delivery_failures_total") >= failures + 1)
                #expect(Self.value("zakops_outbox_dead_letters_total") >= dead + 1)
                #expect(Self.value("zakops_webhook_delivery_duration_seconds_count", ["outcome": "failed"]) >= timed + 1)
            }
        }
    }

    @Test("the per-user stream limit's refusals and the shed streams are counted")
    func sseCounters() async throws {
        let hub = EventHub(limits: .init(perUser: 1, perInstance: 1, bufferSize: 8))
        let refused = Self.value("zakops_sse_refused_total")
        let shed = Self.value("zakops_sse_shed_total", ["reason": "capacity"])
        _ = try hub.subscribe(principalID: "op_a", permissions: [], filter: StreamFilter(), now: Date())
        #expect(throws: EventHub.Refusal.self) { try hub.subscribe(principalID: "op_a", permissions: [], filter: StreamFilter(), now: Date()) }
        _ = try hub.subscribe(principalID: "op_b", permissions: [], filter: StreamFilter(), now: Date())
        #expect(Self.value("zakops_sse_refused_total") >= refused + 1)
        #expect(Self.value("zakops_sse_shed_total", ["reason": "capacity"]) >= shed + 1)
    }

    @Test("METRICS_ON_MAIN_PORT: /metrics on the public listener with the token only; the token is not taken for an API key")
    func mainPort() async throws {
        let token = TestSecrets.sessionSecret()
        try await TestServer.run(configure: { $0.metricsOnMainPort = true; $0.metricsToken = Secret(token) }) { server in
            let refused = try await server.client.execute(uri: "/metrics", method: .get)
            #expect(refused.status == .unauthorized && !refused.text.contains("zakops_"))
            #expect(try await server.client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer zk_wrong"]).status == .unauthorized)
            for _ in 0..<3 {
                let served = try await server.client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(served.status == .ok && served.text.contains("zakops_build_info"))
            }
            // The API is as before.
            #expect(try await server.client.execute(uri: "/api/deals", method: .get).status == .unauthorized)
        }
        #expect(throws: SettingsError.self) {
            try SettingsLoader(input: SettingsInput(flags: [:], environment: ["METRICS_ON_MAIN_PORT": "true"])).load()
        }
    }

    @Test("labels stay bounded: 10,000 distinct paths and 10,000 client addresses add no series")
    func boundedLabels() async throws {
        try await TestServer.run(configure: { $0.trustedProxies = [CIDR("127.0.0.1/32")!] }) { server in
            _ = try await server.client.execute(uri: "/api/nowhere-0", method: .get)
            _ = try await server.client.execute(uri: "/api/nowhere-00", method: .get, headers: [HTTPField.Name("X-Forwarded-For")!: "10.0.0.1"])
            // Other suites add series of their own routes meanwhile: count the unmatched route's.
            let before = Self.series("zakops_http_requests_total", route: "unmatched")
            let durations = Self.series("zakops_http_request_duration_seconds_bucket", route: "unmatched")
            for index in 1...10_000 {
                let address = "10.\(index / 65_536 % 256).\(index / 256 % 256).\(index % 256)"
                _ = try await server.client.execute(uri: "/api/nowhere-\(index)?id=\(index)", method: .get,
                                                    headers: [HTTPField.Name("X-Forwarded-For")!: address])
            }
            // Other suites' requests may add a status class of their own (a redirect, a 5xx):
            // bounded by the five classes, never by the 10,000 paths or addresses.
            #expect(Self.series("zakops_http_requests_total", route: "unmatched") <= max(before, 5))
            #expect(Self.series("zakops_http_request_duration_seconds_bucket", route: "unmatched") == durations)
            #expect(!ZakOpsMetrics.render().contains("nowhere-") && !ZakOpsMetrics.render().contains("10.0.1."))
        }
    }
}
