import Foundation
import HTTPTypes
import Hummingbird
import ServiceLifecycle
import Metrics
import NIOCore
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `GET /api/events/stream` (Server-Sent Events) and `GET /api/events/poll` (`events:read`),
/// and the overload playbook's admin routes (`admin:system`).
struct EventStreamController: Sendable {
    let database: Database
    let hub: EventHub
    let clock: any AppClock
    let sessions: SessionService
    let serviceAccounts: ServiceAccountService
    let replayWindow: TimeInterval
    /// The per-user limit across instances (PostgreSQL; nil on SQLite).
    let leases: StreamLeases?
    /// What a client told to fall back polls at, in milliseconds.
    static let pollInterval = 5_000

    struct PollResponse: ResponseEncodable {
        let events: [EventLog.Entry]
        let nextAfter: Int64
        let intervalMs: Int
        let reset: Bool
        enum CodingKeys: String, CodingKey {
            case events, reset
            case nextAfter = "next_after"
            case intervalMs = "interval_ms"
        }
    }

    struct ShedRequest: StrictDecodable {
        let count: Int?
        static let knownFields = KnownFields(["count"])
    }

    struct ShedResponse: ResponseEncodable {
        let shed: Int
    }

    struct DegradedRequest: StrictDecodable {
        let enabled: Bool
        static let knownFields = KnownFields(["enabled"])
    }

    struct DegradedResponse: ResponseEncodable {
        let degraded: Bool
    }

    func register(on routes: SecuredRoutes) {
        routes.get("/api/events/stream", .permission(.eventsRead)) { request, context in try await stream(request, context) }
        routes.get("/api/events/poll", .permission(.eventsRead)) { request, context in try await poll(request, context) }
        routes.get("/api/admin/sse/stats", .permission(.adminSystem)) { _, _ in hub.stats(now: clock.now()) }
        routes.post("/api/admin/sse/shed", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: ShedRequest.self, context: context)
            if let count = input.count, !(1...1_000_000).contains(count) { throw AppError.validation(field: "count", problem: "must be from 1 to 1000000") }
            let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
            let shed = try await SSEAdmin(database: database).shed(input.count, from: hub, by: change)
            return ShedResponse(shed: shed)
        }
        routes.post("/api/admin/sse/degraded", .permission(.adminSystem)) { request, context in
            let input = try await request.decodeStrictJSON(as: DegradedRequest.self, context: context)
            let change = ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
            try await SSEAdmin(database: database).setDegraded(input.enabled, by: change)
            // This instance at once; the others within a second (their feeds read the switch).
            if input.enabled { hub.shed(count: nil, reason: "degraded") }
            return DegradedResponse(degraded: input.enabled)
        }
    }

    private func filter(_ request: Request) throws -> StreamFilter {
        let query = request.uri.queryParameters
        var filter = StreamFilter()
        if let deal = query["deal_id"] {
            guard ListQuery.isPublicID(String(deal), prefix: "DEAL-") else { throw AppError.validation(field: "deal_id", problem: "must be a deal id") }
            filter.dealID = String(deal)
        }
        if let types = query["types"] {
            let names = types.split(separator: ",").map { String($0) }
            guard (1...50).contains(names.count), names.allSatisfy({ (try? QueryText.check($0, field: "types", shape: .eventType)) != nil }) else {
                throw AppError.validation(field: "types", problem: "must be a comma-separated list of event types such as deal.created")
            }
            filter.types = Set(names)
        }
        return filter
    }

    /// Whether the replay from `after` is still possible within the window: false means the
    /// client must reload (events it missed are older than the window).
    private func replayable(after: Int64) async throws -> Bool {
        let cutoff = Timestamp.string(from: clock.now().addingTimeInterval(-replayWindow))
        return try await database.read { sql in try await EventLog.isReplayable(after: after, since: cutoff, in: sql) }
    }

    private func poll(_ request: Request, _ context: AppRequestContext) async throws -> PollResponse {
        let principal = try context.requirePrincipal()
        let filter = try filter(request)
        let limit = try ListQuery.limit(request, defaultLimit: 100, maximum: 500)
        guard let text = request.uri.queryParameters["after"] else {
            // No cursor: start from now.
            return PollResponse(events: [], nextAfter: try await EventFeed.latestSequence(in: database), intervalMs: Self.pollInterval, reset: false)
        }
        guard let after = Int64(String(text)), after >= 0 else { throw AppError.validation(field: "after", problem: "must be an event sequence number") }
        guard try await replayable(after: after) else {
            return PollResponse(events: [], nextAfter: try await EventFeed.latestSequence(in: database), intervalMs: Self.pollInterval, reset: true)
        }
        let events = try await EventFeed.events(after: after, limit: limit, in: database)
        let visible = events.filter { principal.permissions.contains($0.permission) && filter.accepts($0) }
        return PollResponse(events: visible.map(Self.entry), nextAfter: events.last?.sequence ?? after, intervalMs: Self.pollInterval, reset: false)
    }

    static func entry(_ event: StreamEvent) -> EventLog.Entry {
        EventLog.Entry(sequence: event.sequence, type: event.type, occurredAt: event.occurredAt, data: JSONText.value(event.data))
    }

    private func stream(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let filter = try filter(request)
        if try await RuntimeSwitches(database: database).isOn(.sseDegraded) {
            throw AppError(.serviceUnavailable, headers: ["Retry-After": String(Self.pollInterval / 1000)], logDetail: "SSE degraded mode")
        }
        var lastEventID: Int64?
        if let header = request.headers[HTTPField.Name("Last-Event-ID")!] {
            guard let value = Int64(header.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                throw AppError.validation(field: "Last-Event-ID", problem: "must be an event sequence number")
            }
            lastEventID = value
        }
        let recheck = credentialCheck(request, context)
        let subscription: (id: UInt64, stream: AsyncStream<StreamItem>)
        var lease: String?
        let refused = AppError(.rateLimited, headers: ["Retry-After": "5"], logDetail: "SSE connections per user")
        do {
            // Across the cluster first (PostgreSQL), then on this instance.
            lease = try await leases?.acquire(principalID: principal.id)
        } catch EventHub.Refusal.tooManyForUser {
            Counter(label: "zakops_sse_refused_total").increment()
            throw refused
        }
        do {
            subscription = try hub.subscribe(principalID: principal.id, permissions: principal.permissions, filter: filter, now: clock.now())
        } catch EventHub.Refusal.tooManyForUser {
            if let lease { await leases?.release(lease) }
            throw refused
        }
        let leases = self.leases
        let heldLease = lease
        // nil: no Last-Event-ID; .some(nil): beyond the replay window, the client must reload.
        let replay: [StreamEvent]??
        if let after = lastEventID {
            replay = try await replayable(after: after) ? try await EventFeed.events(after: after, limit: 10_000, in: database) : .some(nil)
        } else {
            replay = nil
        }
        let hub = self.hub
        // After a reset the client reloads its state: stream only what comes after it.
        let resetTo = replay.map { $0 == nil } == true ? try await EventFeed.latestSequence(in: database) : 0
        let startAfter = lastEventID ?? 0
        let connection = context.connectionID
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: SecurityHeaders.cacheControl, HTTPField.Name("X-Accel-Buffering")!: "no"]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            // The client's close (FIN) ends the subscription at once, so its place is free for
            // the next stream instead of at the next heartbeat's failed write.
            InboundClose.onClose(of: connection) { hub.unsubscribe(subscription.id) }
            defer {
                InboundClose.forget(connection)
                hub.unsubscribe(subscription.id)
            }
            defer {
                if let heldLease, let leases { Task { await leases.release(heldLease) } }
            }
            var permissions = principal.permissions
            var lastSent = startAfter
            try await writer.write(ByteBuffer(string: "retry: 3000\n\n"))
            switch replay {
            case .some(.none):
                // Older than the replay window: the client reloads, then listens from now.
                try await writer.write(ByteBuffer(string: "event: reset\ndata: {\"reason\":\"replay_window\"}\n\n"))
                lastSent = resetTo
            case .some(.some(let events)):
                for event in events where permissions.contains(event.permission) && filter.accepts(event) {
                    try await writer.write(Self.frame(event))
                }
                lastSent = max(lastSent, events.last?.sequence ?? lastSent)
            case .none:
                break
            }
            // A stopping server (SIGTERM, a rolling restart) tells its streams to reconnect
            // elsewhere at once, instead of holding the shutdown for its whole grace period.
            try await withGracefulShutdownHandler {
                loop: for await item in subscription.stream {
                    switch item {
                    case .event(let event):
                        guard event.sequence > lastSent, permissions.contains(event.permission) else { continue }
                        try await writer.write(Self.frame(event))
                        lastSent = event.sequence
                    case .heartbeat:
                        // The session or key must still be good: a revoked one ends the stream.
                        guard let current = try? await recheck() else { break loop }
                        permissions = current.permissions
                        hub.update(subscription.id, permissions: current.permissions)
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    case .fallback(let reason):
                        try await writer.write(ByteBuffer(string: "event: fallback\ndata: {\"reason\":\"\(reason)\",\"poll\":\"/api/events/poll\",\"interval_ms\":\(Self.pollInterval)}\n\n"))
                        break loop
                    }
                }
            } onGracefulShutdown: {
                hub.end(subscription.id, reason: "restart")
            }
            try await writer.finish(nil)
        })
    }

    static func frame(_ event: StreamEvent) -> ByteBuffer {
        ByteBuffer(string: "id: \(event.sequence)\nevent: \(event.type)\ndata: \(event.data)\n\n")
    }

    /// Checks the request's credential again (nil once revoked, expired or disabled). Through
    /// the credential cache, like every request: the streams of one credential share one
    /// lookup per heartbeat.
    private func credentialCheck(_ request: Request, _ context: AppRequestContext) -> @Sendable () async throws -> Principal? {
        let sessions = self.sessions, accounts = self.serviceAccounts, clock = self.clock
        if let authorization = request.headers[.authorization] {
            // The middleware let the request in with this key, so the header is well formed.
            let hash = BearerKey.hash(authorization: authorization) ?? ""
            return { try await accounts.principal(keyHash: hash, now: clock.now()) }
        }
        // The session's hash is the principal's: no cookie to parse and hash at each heartbeat.
        if context.authenticatedByCookie, let hash = context.principal?.sessionTokenHash {
            return { try await sessions.resolve(tokenHash: hash) }
        }
        let principal = context.principal
        return { principal }
    }
}

extension EventHub.Stats: ResponseEncodable {}

