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

/// `GET /api/events/stream` over real sockets: live events, replay, limits, permissions,
/// revocation, shedding and degraded mode with polling.
@Suite("Event stream (SSE)", .serverSlot)
struct EventStreamTests {
    static func fast(_ settings: inout Settings) {
        settings.sseHeartbeatSeconds = 1
        settings.ssePollIntervalMilliseconds = 20
    }

    static func stream(_ server: TestServer, _ session: BrowserSession, path: String = "/api/events/stream", extra: [String: String] = [:]) throws -> SSEClient {
        try SSEClient(port: server.port, path: path, headers: ["Cookie": "\(SessionCookieName.value)=\(session.cookie)"].merging(extra) { $1 })
    }

    @Test("a committed change reaches the stream with its sequence; Last-Event-ID replays what was missed, also after a restart of the stream")
    func liveAndReplay() async throws {
        try await TestServer.run(configure: Self.fast) { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let client = try Self.stream(server, session)
            #expect(try await client.wait { $0.body.hasPrefix("retry: 3000\n\n") })
            #expect(client.status == 200)
            let head = client.head.lowercased()
            #expect(head.contains("content-type: text/event-stream") && head.contains("cache-control: no-store, max-age=0") && head.contains("x-accel-buffering: no"))
            let deal = try DealsTests.json(try await DealsTests.create(server, session, ["canonical_name": "Streamed"]))
            let id = try #require(deal["id"] as? String)
            #expect(try await client.wait { $0.body.contains("event: deal.created\ndata: ") && $0.body.contains(id) })
            let first = try #require(client.eventIDs.first)
            // Heartbeats are comments: they never carry an id.
            #expect(try await client.wait { $0.body.contains(": heartbeat\n\n") })
            client.close()

            // Two more changes while disconnected; the reconnect names the last id it saw.
            _ = try await server.client.execute(uri: "/api/deals/\(id)/transition", method: .post, headers: session.headers(),
                                                body: ByteBuffer(string: #"{"to_stage":"initial_review"}"#))
            _ = try await DealsTests.create(server, session, ["canonical_name": "Second"])
            let again = try Self.stream(server, session, extra: ["Last-Event-ID": String(first)])
            #expect(try await again.wait { $0.eventIDs.count == 2 })
            #expect(again.eventIDs == [first + 1, first + 2])
            #expect(again.body.contains("event: deal.stage_changed"))
            // A bad Last-Event-ID is refused.
            let bad = try Self.stream(server, session, extra: ["Last-Event-ID": "latest"])
            #expect(try await bad.wait { $0.status != nil })
            #expect(bad.status == 400)
        }
    }

    @Test("a change committed through one instance reaches a stream on another, live and by replay")
    func acrossInstances() async throws {
        let location = try await TestDatabase.fresh()
        try await TestServer.run(location: location, configure: Self.fast) { first in
            try await TestServer.run(location: location, migrate: false, configure: Self.fast) { second in
                let account = try await first.createOperator(role: .operator)
                let onFirst = try await first.login(account)
                let onSecond = try await second.login(account)
                let client = try Self.stream(second, onSecond)
                #expect(try await client.wait { $0.status == 200 })
                let deal = try DealsTests.json(try await DealsTests.create(first, onFirst, ["canonical_name": "Elsewhere"]))
                let id = try #require(deal["id"] as? String)
                #expect(try await client.wait { $0.body.contains(id) })
                let seen = try #require(client.eventIDs.last)
                client.close()
                _ = try await DealsTests.create(first, onFirst, ["canonical_name": "While away"])
                let replayed = try Self.stream(second, onSecond, extra: ["Last-Event-ID": String(seen)])
                #expect(try await replayed.wait { $0.eventIDs == [seen + 1] })
            }
        }
    }

    @Test("a Last-Event-ID older than the replay window gets a reset event")
    func resetOutsideWindow() async throws {
        try await TestServer.run(configure: Self.fast) { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            _ = try await DealsTests.create(server, session, ["canonical_name": "Old"])
            server.clock.advance(by: 2 * 3600)
            let session2 = try await server.login(try await server.createOperator(role: .operator))
            _ = try await DealsTests.create(server, session2, ["canonical_name": "New"])
            let client = try Self.stream(server, session2, extra: ["Last-Event-ID": "0"])
            #expect(try await client.wait { $0.body.contains("event: reset") })
            #expect(client.eventIDs.isEmpty)
        }
    }

    @Test("the sixth stream of one user is 429; another user is unaffected; a closed stream frees its place")
    func perUserLimit() async throws {
        try await TestServer.run(configure: Self.fast) { server in
            let session = try await server.login(try await server.createOperator(role: .viewer))
            let clients = try await Self.openAllowed(server, session)
            let sixth = try Self.stream(server, session)
            #expect(try await sixth.wait { $0.status != nil })
            #expect(sixth.status == 429)
            #expect(sixth.head.lowercased().contains("retry-after:"))
            #expect(sixth.body.contains("RATE_LIMITED"))
            let other = try Self.stream(server, try await server.login(try await server.createOperator(role: .viewer)))
            #expect(try await other.wait { $0.status != nil })
            #expect(other.status == 200)
            clients[0].close()
            // The server notices the closed socket at its next write (a heartbeat).
            #expect(try await Self.waitForStatus(200, server: server, session: session))
        }
    }

    @Test("PostgreSQL: the per-user limit holds across instances — the sixth stream is refused whichever instance it reaches; a closed one frees its place on the others",
          .enabled(if: TestDatabase.backend == .postgres))
    func perUserLimitAcrossInstances() async throws {
        let location = try await TestDatabase.fresh()
        try await TestServer.run(location: location, configure: Self.fast) { first in
            try await TestServer.run(location: location, migrate: false, configure: Self.fast) { second in
                let session = try await first.login(try await first.createOperator(role: .viewer))
                var open: [SSEClient] = []
                for server in [first, first, first, second, second] {
                    let client = try Self.stream(server, session)
                    #expect(try await client.wait { $0.status != nil })
                    #expect(client.status == 200)
                    open.append(client)
                }
                for server in [first, second] {
                    let sixth = try Self.stream(server, session)
                    #expect(try await sixth.wait { $0.status != nil })
                    #expect(sixth.status == 429 && sixth.body.contains("RATE_LIMITED"))
                }
                #expect(try await first.count("stream_leases") == 5)
                // Closed on the first instance: the second admits one more.
                open[0].close()
                #expect(try await Self.waitForStatus(200, server: second, session: session))
            }
        }
    }

    @Test("PostgreSQL: another instance's event arrives by notification, long before the timer; with the listener killed the timer carries on and the listener comes back")
    func listenNotify() async throws {
        guard TestDatabase.backend == .postgres else { return }
        let location = try await TestDatabase.fresh()
        try await TestServer.run(location: location, configure: Self.fast) { first in
            // The second instance polls only every 10 s: what arrives sooner came by notification.
            try await TestServer.run(location: location, migrate: false, configure: { settings in
                Self.fast(&settings)
                settings.ssePollIntervalMilliseconds = 10_000
            }) { second in
                let listener = try #require(second.components.listener)
                let account = try await first.createOperator(role: .operator)
                let onFirst = try await first.login(account)
                let client = try Self.stream(second, try await second.login(account))
                #expect(try await client.wait { $0.status == 200 })
                #expect(try await Self.eventually { listener.connections == 1 })
                let started = ContinuousClock.now
                let deal = try DealsTests.json(try await DealsTests.create(first, onFirst, ["canonical_name": "Notified"]))
                let id = try #require(deal["id"] as? String)
                #expect(try await client.wait(for: .seconds(5)) { $0.body.contains(id) })
                #expect(ContinuousClock.now - started < .seconds(5), "well before the 10 s timer")

                // The listener's backend is killed from PostgreSQL: it reconnects with backoff.
                let killed = try await second.database.read { sql in
                    try await sql.raw("SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = \(bind: NotificationListener.applicationName) AND datname = current_database()")
                        .all().count
                }
                #expect(killed >= 1)
                #expect(try await Self.eventually { listener.connections >= 2 }, "the listener came back")
                let later = try DealsTests.json(try await DealsTests.create(first, onFirst, ["canonical_name": "After the kill"]))
                let laterID = try #require(later["id"] as? String)
                #expect(try await client.wait(for: .seconds(5)) { $0.body.contains(laterID) })
            }
        }
    }

    static func eventually(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return condition()
    }

    @Test("a stream the client closes frees its place within a second, without waiting for a heartbeat", .timeLimit(.minutes(10)))
    func closeFreesAtOnce() async throws {
        try await TestServer.run(configure: { settings in
            Self.fast(&settings)
            settings.sseHeartbeatSeconds = 3_600
        }) { server in
            let account = try await server.createOperator(role: .viewer)
            let session = try await server.login(account)
            var clients = try await Self.openAllowed(server, session)
            clients[0].close()
            clients[1].close()
            // The second is measured in the server (its hub), not through new HTTP requests
            // whose own latency on a loaded test machine has nothing to do with the close.
            let closed = ContinuousClock.now
            let hub = server.components.eventHub
            while hub.stats(now: Date()).perUser[account.id] != 3, ContinuousClock.now - closed < .seconds(1) {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(hub.stats(now: Date()).perUser[account.id] == 3, "two places free within a second of the close")
            for _ in 0..<2 {
                let client = try Self.stream(server, session)
                #expect(try await client.wait { $0.status != nil })
                #expect(client.status == 200)
                clients.append(client)
            }
            let sixth = try Self.stream(server, session)
            #expect(try await sixth.wait { $0.status != nil })
            #expect(sixth.status == 429, "and no more than the two")
            for client in clients { client.close() }
        }
    }

    /// The five streams one user may hold, each answered 200.
    static func openAllowed(_ server: TestServer, _ session: BrowserSession) async throws -> [SSEClient] {
        var clients: [SSEClient] = []
        for _ in 0..<5 {
            let client = try Self.stream(server, session)
            #expect(try await client.wait { $0.status != nil })
            #expect(client.status == 200)
            clients.append(client)
        }
        return clients
    }

    static func waitForStatus(_ status: Int, server: TestServer, session: BrowserSession) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let client = try Self.stream(server, session)
            _ = try await client.wait { $0.status != nil }
            if client.status == status { return true }
            client.close()
            try await Task.sleep(for: .milliseconds(300))
        }
        return false
    }

    @Test("subscribers receive only what their permissions allow, filtered by deal and type")
    func permissionsAndFilters() async throws {
        try await TestServer.run(configure: Self.fast) { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let viewer = try await server.login(try await server.createOperator(role: .viewer))
            let adminStream = try Self.stream(server, admin)
            let viewerStream = try Self.stream(server, viewer)
            let filtered = try Self.stream(server, viewer, path: "/api/events/stream?types=deal.stage_changed")
            for client in [adminStream, viewerStream, filtered] { #expect(try await client.wait { $0.status == 200 }) }
            // An event only admins may see (a system event).
            _ = try await server.database.transaction { sql in
                try await EventLog.append(EventLog.Event(type: "system.maintenance", subjectKind: "system", subjectID: "zakops", payload: #"{"note":"admin only"}"#),
                                          at: server.clock.now(), in: sql)
            }
            let deal = try DealsTests.json(try await DealsTests.create(server, admin, ["canonical_name": "Visible"]))
            let id = try #require(deal["id"] as? String)
            _ = try await server.client.execute(uri: "/api/deals/\(id)/transition", method: .post, headers: admin.headers(),
                                                body: ByteBuffer(string: #"{"to_stage":"initial_review"}"#))
            #expect(try await adminStream.wait { $0.eventIDs.count == 3 })
            #expect(try await viewerStream.wait { $0.eventIDs.count == 2 })
            #expect(try await filtered.wait { $0.eventIDs.count == 1 })
            #expect(adminStream.body.contains("system.maintenance"))
            #expect(!viewerStream.body.contains("system.maintenance") && !viewerStream.body.contains("admin only"))
            #expect(filtered.body.contains("event: deal.stage_changed") && !filtered.body.contains("event: deal.created"))
            let badFilter = try Self.stream(server, viewer, path: "/api/events/stream?deal_id=x'%20OR%201=1")
            #expect(try await badFilter.wait { $0.status != nil })
            #expect(badFilter.status == 400)
        }
    }

    @Test("a stream closes within one heartbeat of its session being revoked")
    func revokedSessionCloses() async throws {
        try await TestServer.run(configure: Self.fast) { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let client = try Self.stream(server, session)
            #expect(try await client.wait { $0.status == 200 })
            let logout = try await server.client.execute(uri: "/api/auth/logout", method: .post, headers: session.headers(json: false))
            #expect(logout.status == .noContent)
            #expect(try await client.wait(for: .seconds(10)) { $0.isClosed })
        }
    }

    @Test("shed closes the oldest first, each told to poll; degraded mode answers 503 with Retry-After, polling keeps working")
    func shedAndDegraded() async throws {
        try await TestServer.run(configure: Self.fast) { server in
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let viewer = try await server.login(try await server.createOperator(role: .viewer))
            let oldest = try Self.stream(server, viewer)
            #expect(try await oldest.wait { $0.status == 200 })
            try await Task.sleep(for: .milliseconds(50))
            let newer = try Self.stream(server, viewer)
            #expect(try await newer.wait { $0.status == 200 })
            let stats = try DealsTests.json(try await server.client.execute(uri: "/api/admin/sse/stats", method: .get, headers: admin.headers(json: false)))
            #expect(stats["connections"] as? Int == 2)
            let shed = try await server.client.execute(uri: "/api/admin/sse/shed", method: .post, headers: admin.headers(), body: ByteBuffer(string: #"{"count":1}"#))
            #expect(try DealsTests.json(shed)["shed"] as? Int == 1)
            #expect(try await oldest.wait { $0.isClosed })
            #expect(oldest.body.contains("event: fallback\ndata: {\"reason\":\"shed\",\"poll\":\"/api/events/poll\""))
            #expect(!newer.isClosed)
            #expect(try await server.client.execute(uri: "/api/admin/sse/shed", method: .post, headers: viewer.headers(), body: ByteBuffer(string: "{}")).status == .forbidden)

            let on = try await server.client.execute(uri: "/api/admin/sse/degraded", method: .post, headers: admin.headers(), body: ByteBuffer(string: #"{"enabled":true}"#))
            #expect(on.status == .ok)
            #expect(try await newer.wait { $0.isClosed })
            #expect(newer.body.contains("\"reason\":\"degraded\""))
            let refused = try Self.stream(server, viewer)
            #expect(try await refused.wait { $0.status != nil })
            #expect(refused.status == 503)
            #expect(refused.head.lowercased().contains("retry-after: 5"))

            let start = try DealsTests.json(try await server.client.execute(uri: "/api/events/poll", method: .get, headers: viewer.cookieOnly))
            let cursor = try #require(start["next_after"] as? Int)
            _ = try await DealsTests.create(server, admin, ["canonical_name": "Polled"])
            let polled = try DealsTests.json(try await server.client.execute(uri: "/api/events/poll?after=\(cursor)", method: .get, headers: viewer.cookieOnly))
            #expect((polled["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String } == ["deal.created"])
            #expect(polled["interval_ms"] as? Int == 5000)
            #expect(polled["next_after"] as? Int == cursor + 1)

            _ = try await server.client.execute(uri: "/api/admin/sse/degraded", method: .post, headers: admin.headers(), body: ByteBuffer(string: #"{"enabled":false}"#))
            let back = try Self.stream(server, viewer)
            #expect(try await back.wait { $0.status != nil })
            #expect(back.status == 200)
            let trail = try DealsTests.json(try await server.client.execute(uri: "/api/admin/audit?target_kind=system", method: .get, headers: admin.headers(json: false)))
            #expect((trail["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == ["sse.degraded_off", "sse.degraded_on", "sse.shed"])
        }
    }

    @Test("a consumer too slow to drain its buffer is disconnected while the others keep receiving")
    func slowConsumerDropped() async throws {
        let hub = EventHub(limits: .init(perUser: 5, perInstance: 100, bufferSize: 4))
        let slow = try hub.subscribe(principalID: "slow", permissions: [.dealsRead], filter: StreamFilter(), now: Date())
        let fast = try hub.subscribe(principalID: "fast", permissions: [.dealsRead], filter: StreamFilter(), now: Date())
        var fastIterator = fast.stream.makeAsyncIterator()
        for sequence in Int64(1)...10 {
            hub.publish([StreamEvent(sequence: sequence, type: "deal.created", occurredAt: "", subjectKind: "deal", subjectID: "DEAL-X", data: "{}", dealID: "DEAL-X")])
            // The fast consumer drains as it goes; the slow one never reads.
            if case .event(let event) = await fastIterator.next() { #expect(event.sequence == sequence) } else { Issue.record("fast consumer cut off") }
        }
        let stats = hub.stats(now: Date())
        #expect(stats.connections == 1 && stats.slowDisconnectsTotal == 1)
        #expect(stats.perUser == ["fast": 1], "the dropped consumer no longer counts against its user")
        var received = 0
        for await _ in slow.stream { received += 1 }
        #expect(received == 4, "the slow consumer got its buffer, then its stream ended")
    }
}
