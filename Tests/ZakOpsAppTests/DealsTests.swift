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

/// Deals and their pipeline, through the API, with the audit trail and the event log.
@Suite("Deals", .serverSlot)
struct DealsTests {
    static func create(_ server: TestServer, _ session: BrowserSession, _ body: [String: Any]) async throws -> TestResponse {
        try await server.client.execute(uri: "/api/deals", method: .post, headers: session.headers(), body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
    }

    @Test("every pair of stages: exactly the pipeline's moves are valid")
    func stageGraph() {
        let expected: [DealStage: Set<DealStage>] = [
            .inbound: [.initialReview, .closedLost, .archived],
            .initialReview: [.inbound, .dueDiligence, .closedLost],
            .dueDiligence: [.initialReview, .negotiation, .closedLost],
            .negotiation: [.dueDiligence, .documentation, .closedLost],
            .documentation: [.negotiation, .closing, .closedLost],
            .closing: [.documentation, .closedWon, .closedLost],
            .closedWon: [.archived],
            .closedLost: [.archived],
            .archived: [],
        ]
        for from in DealStage.allCases {
            for to in DealStage.allCases where to != from {
                #expect(from.canMove(to: to) == expected[from]!.contains(to), "\(from.rawValue) → \(to.rawValue)")
            }
        }
    }

    @Test("create, read, list: the deal, its audit entry and its event are written together")
    func createAndRead() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let created = try await Self.create(server, session, [
                "canonical_name": "Acme Holdings", "broker": ["name": "Jo Broker", "email": "jo@broker.example"],
                "company_info": ["sector": "industrial", "employees": 120], "metrics": ["asking_price": 1_250_000.5, "ebitda": NSNull()],
            ])
            #expect(created.status == .created)
            let deal = try Self.json(created)
            let id = try #require(deal["id"] as? String)
            #expect(id.hasPrefix("DEAL-") && !id.contains(/[0-9a-f]{8}-[0-9a-f]{4}-/))
            #expect(deal["stage"] as? String == "inbound" && deal["version"] as? Int == 1)
            #expect((deal["metrics"] as? [String: Any])?["asking_price"] as? Double == 1_250_000.5)
            let fetched = try await server.client.execute(uri: "/api/deals/\(id)", method: .get, headers: session.headers(json: false))
            #expect(fetched.status == .ok)
            #expect(try Self.json(fetched)["canonical_name"] as? String == "Acme Holdings")
            let listed = try Self.json(try await server.client.execute(uri: "/api/deals?q=acme&stage=inbound", method: .get, headers: session.headers(json: false)))
            #expect((listed["deals"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            // Audit: actor, action, target, request id; the broker (a person) redacted.
            let audit = try await server.database.read { sql in
                try await sql.select().columns("actor_kind", "action", "target_id", "changes", "request_id").from("audit_log").where("action", .notLike, SQLBind("auth.%")).all()
            }
            #expect(audit.count == 1)
            #expect(try audit[0].decode(column: "action", as: String.self) == "deal.created")
            #expect(try audit[0].decode(column: "target_id", as: String.self) == id)
            #expect(try audit[0].decode(column: "actor_kind", as: String.self) == "user")
            #expect(try audit[0].decode(column: "request_id", as: String?.self) == created.headers[HTTPField.Name("X-Request-ID")!])
            let changes = try audit[0].decode(column: "changes", as: String.self)
            #expect(!changes.contains("jo@broker.example") && !changes.contains("Jo Broker") && changes.contains("[redacted]"))
            #expect(!changes.contains("industrial"), "company_info is free-form: only that it changed")
            let events = try await server.database.read { sql in
                try await sql.select().columns("sequence", "type", "subject_id").from("event_log").all()
            }
            #expect(events.count == 1)
            #expect(try events[0].decode(column: "type", as: String.self) == "deal.created")
            let payload = try await server.database.read { sql in try await sql.select().column("payload").from("event_log").first(decodingColumn: "payload", as: String.self) }
            #expect(payload?.contains("jo@broker.example") == false)
        }
    }

    @Test("bad input is 400 naming the fields, never echoing them, and writes nothing", arguments: [
        (#"{"canonical_name":"X","stgae":"closing"}"#, "stgae"),
        (#"{"canonical_name":"X","broker":{"name":"A","phone":"1"}}"#, "broker.phone"),
        (#"{"canonical_name":"X","metrics":{"revenue":"$1,000,000"}}"#, "metrics.revenue"),
        (#"{"canonical_name":"X","metrics":{"revenue":1e16}}"#, "metrics.revenue"),
        (#"{"canonical_name":"Bad\u0007name"}"#, "canonical_name"),
        (#"{"canonical_name":"\#(String(repeating: "n", count: 201))"}"#, "canonical_name"),
        (#"{"canonical_name":"X","stage":"won"}"#, "stage"),
        (#"{"canonical_name":"X","stage":"closed_won"}"#, "stage"),
        (#"{"canonical_name":"X","company_info":{"a":{"b":{"c":{"d":{"e":{"f":1}}}}}}}"#, "company_info"),
        (#"{"display_name":"X"}"#, "canonical_name"),
        (#"{"canonical_name":"X","broker":{}}"#, "broker"),
        (#"{"canonical_name":"X","broker":{"name":null,"email":null}}"#, "broker"),
    ])
    func badInput(body: String, field: String) async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let response = try await server.client.execute(uri: "/api/deals", method: .post, headers: session.headers(), body: ByteBuffer(string: body))
            #expect(response.status == .badRequest)
            #expect(response.errorBody?.error.code == "VALIDATION_ERROR")
            #expect(response.errorBody?.error.field == field)
            #expect(!response.text.contains("$1,000,000") && !response.text.contains("\u{0007}"))
            #expect(try await server.count("deals") == 0)
            #expect(try await server.changeAuditCount() == 0)
            #expect(try await server.count("event_log") == 0)
        }
    }

    @Test("transitions follow the pipeline: an invalid move is 422 naming the valid stages and changes nothing; the current stage is a no-op")
    func transitions() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let id = try #require(try Self.json(try await Self.create(server, session, ["canonical_name": "Pipeline Co"]))["id"] as? String)
            func move(_ stage: String) async throws -> TestResponse {
                try await server.client.execute(uri: "/api/deals/\(id)/transition", method: .post, headers: session.headers(),
                                                body: ByteBuffer(string: #"{"to_stage":"\#(stage)","reason":"test"}"#))
            }
            let invalid = try await move("closing")
            #expect(invalid.status == .unprocessableContent)
            #expect(invalid.errorBody?.error.code == "INVALID_STAGE_TRANSITION")
            #expect(invalid.errorBody?.error.detail == "valid next stages: initial_review, closed_lost, archived")
            let same = try await move("inbound")
            #expect(same.status == .ok)
            #expect(try Self.json(same)["version"] as? Int == 1)
            #expect(try await server.changeAuditCount() == 1)
            let moved = try await move("initial_review")
            #expect(moved.status == .ok)
            #expect(try Self.json(moved)["stage"] as? String == "initial_review")
            #expect(try Self.json(moved)["version"] as? Int == 2)
            let next = try Self.json(try await server.client.execute(uri: "/api/deals/\(id)/transitions", method: .get, headers: session.headers(json: false)))
            #expect(next["valid_next_stages"] as? [String] == ["inbound", "due_diligence", "closed_lost"])
            #expect(try await server.changeAuditCount() == 2)
            let sequences = try await server.database.read { sql in
                try await sql.select().column("sequence").from("event_log").orderBy("sequence").all().map { try $0.decode(column: "sequence", as: Int64.self) }
            }
            #expect(sequences == [1, 2])
        }
    }

    @Test("PATCH needs If-Match with the current version: stale is 412, missing is 428, and neither changes anything")
    func optimisticConcurrency() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let id = try #require(try Self.json(try await Self.create(server, session, ["canonical_name": "Versioned", "broker": ["name": "B"]]))["id"] as? String)
            func patch(_ body: String, ifMatch: String?) async throws -> TestResponse {
                var headers = session.headers()
                if let ifMatch { headers[.ifMatch] = ifMatch }
                return try await server.client.execute(uri: "/api/deals/\(id)", method: .patch, headers: headers, body: ByteBuffer(string: body))
            }
            let read = try await server.client.execute(uri: "/api/deals/\(id)", method: .get, headers: session.headers(json: false))
            #expect(read.headers[.eTag] == "\"1\"")
            let seeded = try await patch(#"{"metrics":{"asking_price":100,"ebitda":7}}"#, ifMatch: "\"1\"")
            #expect(seeded.status == .ok)
            let updated = try await patch(#"{"display_name":"Versioned Ltd","broker":null,"metrics":{"revenue":42.5,"ebitda":null}}"#, ifMatch: "\"2\"")
            #expect(updated.status == .ok)
            let deal = try Self.json(updated)
            #expect(deal["version"] as? Int == 3 && deal["display_name"] as? String == "Versioned Ltd")
            #expect(deal["broker"] is NSNull || deal["broker"] == nil)
            // Figures left out keep their value; an explicit null clears one.
            let metrics = deal["metrics"] as? [String: Any]
            #expect(metrics?["asking_price"] as? Double == 100 && metrics?["revenue"] as? Double == 42.5)
            #expect(metrics?["ebitda"] == nil || metrics?["ebitda"] is NSNull)
            #expect(updated.headers[.eTag] == "\"3\"")
            let audits = try await server.changeAuditCount()
            let stale = try await patch(#"{"display_name":"Lost update"}"#, ifMatch: "\"1\"")
            #expect(stale.status == .preconditionFailed)
            #expect(stale.errorBody?.error.code == "PRECONDITION_FAILED")
            let missing = try await patch(#"{"display_name":"No version"}"#, ifMatch: nil)
            #expect(missing.status.code == 428)
            let stage = try await patch(#"{"stage":"closing"}"#, ifMatch: "\"3\"")
            #expect(stage.status == .badRequest && stage.errorBody?.error.field == "stage")
            let after = try Self.json(try await server.client.execute(uri: "/api/deals/\(id)", method: .get, headers: session.headers(json: false)))
            #expect(after["display_name"] as? String == "Versioned Ltd" && after["version"] as? Int == 3 && after["stage"] as? String == "inbound")
            #expect(try await server.changeAuditCount() == audits)
        }
    }

    @Test("DELETE is a soft delete with deals:delete: gone from the API, kept with its audit trail")
    func softDelete() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let viewer = try await server.login(try await server.createOperator(role: .viewer))
            let id = try #require(try Self.json(try await Self.create(server, session, ["canonical_name": "Short-lived"]))["id"] as? String)
            server.clock.advance(by: 1)
            #expect(try await server.client.execute(uri: "/api/deals/\(id)", method: .delete, headers: viewer.headers(json: false)).status == .forbidden)
            #expect(try await server.client.execute(uri: "/api/deals/\(id)", method: .delete, headers: session.headers(json: false)).status == .noContent)
            #expect(try await server.client.execute(uri: "/api/deals/\(id)", method: .get, headers: session.headers(json: false)).status == .notFound)
            #expect(try await server.client.execute(uri: "/api/deals/\(id)", method: .delete, headers: session.headers(json: false)).status == .notFound)
            let listed = try Self.json(try await server.client.execute(uri: "/api/deals", method: .get, headers: session.headers(json: false)))
            #expect((listed["deals"] as? [Any])?.isEmpty == true)
            #expect(try await server.count("deals") == 1)
            let actions = try await server.database.read { sql in
                try await sql.select().column("action").from("audit_log").where("action", .notLike, SQLBind("auth.%")).orderBy("occurred_at").all().map { try $0.decode(column: "action", as: String.self) }
            }
            #expect(actions == ["deal.created", "deal.deleted"])
        }
    }

    @Test("a deal's timeline lists its events in order; the audit trail is readable with audit:read only, filtered and paged")
    func timelineAndAudit() async throws {
        try await TestServer.run { server in
            let operatorAccount = try await server.createOperator(role: .operator)
            let session = try await server.login(operatorAccount)
            let id = try #require(try Self.json(try await Self.create(server, session, ["canonical_name": "Timeline"]))["id"] as? String)
            server.clock.advance(by: 1)
            _ = try await server.client.execute(uri: "/api/deals/\(id)/transition", method: .post, headers: session.headers(),
                                                body: ByteBuffer(string: #"{"to_stage":"initial_review"}"#))
            server.clock.advance(by: 1)
            _ = try await Self.create(server, session, ["canonical_name": "Other"])
            let timeline = try Self.json(try await server.client.execute(uri: "/api/deals/\(id)/events", method: .get, headers: session.headers(json: false)))
            let events = try #require(timeline["events"] as? [[String: Any]])
            #expect(events.map { $0["type"] as? String } == ["deal.created", "deal.stage_changed"])
            #expect(((events.last?["data"] as? [String: Any])?["stage"] as? String) == "initial_review")

            // Operators do not hold audit:read.
            #expect(try await server.client.execute(uri: "/api/admin/audit", method: .get, headers: session.headers(json: false)).status == .forbidden)
            let admin = try await server.login(try await server.createOperator(role: .admin))
            func audit(_ query: String) async throws -> [String: Any] {
                try Self.json(try await server.client.execute(uri: "/api/admin/audit" + query, method: .get, headers: admin.headers(json: false)))
            }
            let forDeal = try await audit("?target_id=\(id)")
            #expect((forDeal["entries"] as? [[String: Any]])?.map { $0["action"] as? String } == ["deal.stage_changed", "deal.created"])
            let byActor = try await audit("?actor_id=\(operatorAccount.id)&action=deal.created")
            #expect((byActor["entries"] as? [[String: Any]])?.count == 2)
            // Paging: one entry a page, three entries (the operator's changes), no repeats.
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await audit("?limit=1&actor_id=\(operatorAccount.id)&target_kind=deal" + (cursor.map { "&cursor=\($0)" } ?? ""))
                seen += (page["entries"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(seen.count == 3 && Set(seen).count == 3)
            let badTime = try await server.client.execute(uri: "/api/admin/audit?since=yesterday", method: .get, headers: admin.headers(json: false))
            #expect(badTime.status == .badRequest && badTime.errorBody?.error.field == "since")
            // No route edits or deletes the trail.
            #expect(try await server.client.execute(uri: "/api/admin/audit", method: .delete, headers: admin.headers(json: false)).status == .methodNotAllowed)
        }
    }

    @Test("Idempotency-Key: a replay returns the first response and creates nothing; another body is 422; keys are per principal; a failure frees the key")
    func idempotency() async throws {
        try await TestServer.run { server in
            let first = try await server.login(try await server.createOperator(role: .operator))
            let second = try await server.login(try await server.createOperator(role: .operator))
            let key = "create-" + RandomToken.base32(RandomToken.bytes(8))
            func post(_ session: BrowserSession, _ body: String, key: String) async throws -> TestResponse {
                var headers = session.headers()
                headers[HTTPField.Name("Idempotency-Key")!] = key
                return try await server.client.execute(uri: "/api/deals", method: .post, headers: headers, body: ByteBuffer(string: body))
            }
            let original = try await post(first, #"{"canonical_name":"Once"}"#, key: key)
            #expect(original.status == .created)
            let replay = try await post(first, #"{"canonical_name":"Once"}"#, key: key)
            #expect(replay.status == .created)
            #expect(replay.text == original.text)
            #expect(replay.headers[.location] == original.headers[.location])
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(try await server.count("deals") == 1)
            #expect(try await server.changeAuditCount() == 1)
            let reused = try await post(first, #"{"canonical_name":"Twice"}"#, key: key)
            #expect(reused.status == .unprocessableContent)
            #expect(reused.errorBody?.error.code == "IDEMPOTENCY_KEY_REUSED")
            #expect(try await server.count("deals") == 1)
            // Another principal's identical key is its own.
            #expect(try await post(second, #"{"canonical_name":"Once"}"#, key: key).status == .created)
            #expect(try await server.count("deals") == 2)
            // A refused request frees its key: the corrected retry runs.
            let retryKey = "retry-" + RandomToken.base32(RandomToken.bytes(8))
            #expect(try await post(first, #"{"canonical_name":"X","stgae":"closing"}"#, key: retryKey).status == .badRequest)
            #expect(try await post(first, #"{"canonical_name":"Fixed"}"#, key: retryKey).status == .created)
            #expect(try await post(first, #"{"canonical_name":"Y"}"#, key: "bad key with spaces").status == .badRequest)
            #expect(try await server.count("deals") == 3)
        }
    }

    static let markup = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "javascript:alert(1)", "{{7*7}}"]
    static let injections = ["' OR '1'='1", "'; DROP TABLE deals; --", "\" OR 1=1 --", "1) UNION SELECT * FROM operators --", "%' --", "\\'; SELECT pg_sleep(5); --"]

    @Test("markup comes back as inert JSON string data, byte for byte")
    func markupIsInert() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            for payload in Self.markup {
                let created = try await Self.create(server, session, ["canonical_name": payload, "company_info": ["note": payload]])
                #expect(created.status == .created)
                #expect(created.headers[.contentType] == "application/json; charset=utf-8")
                let id = try #require(try Self.json(created)["id"] as? String)
                let fetched = try await server.client.execute(uri: "/api/deals/\(id)", method: .get, headers: session.headers(json: false))
                #expect(fetched.headers[.contentType] == "application/json; charset=utf-8")
                #expect(fetched.headers[.contentSecurityPolicy]?.hasPrefix("default-src 'self'") == true)
                let deal = try Self.json(fetched)
                #expect(deal["canonical_name"] as? String == payload)
                #expect((deal["company_info"] as? [String: Any])?["note"] as? String == payload)
            }
        }
    }

    @Test("SQL injection payloads in path, query and body: no 5xx, nothing outside reach, tables unchanged")
    func injectionPayloads() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let id = try #require(try Self.json(try await Self.create(server, session, ["canonical_name": "Target"]))["id"] as? String)
            let before = try await server.count("deals")
            let operators = try await server.count("operators")
            for payload in Self.injections {
                let encoded = payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                for uri in ["/api/deals/\(encoded)", "/api/deals/DEAL-\(encoded)", "/api/deals?q=\(encoded)", "/api/deals?stage=\(encoded)",
                            "/api/deals?status=\(encoded)", "/api/deals?cursor=\(encoded)", "/api/deals?limit=\(encoded)",
                            "/api/deals/\(id)/events?x=\(encoded)", "/api/deals?q=%00\(encoded)"] {
                    let response = try await server.client.execute(uri: uri, method: .get, headers: session.headers(json: false))
                    #expect(response.status.code < 500, "\(uri)")
                    if uri.hasPrefix("/api/deals?q=%00") {
                        #expect(response.status == .badRequest, "a NUL byte in q is refused before any query")
                    } else if uri.hasPrefix("/api/deals?q=") {
                        #expect((try Self.json(response)["deals"] as? [Any])?.isEmpty == true, "a payload in q matches nothing")
                    }
                }
                let body = try JSONSerialization.data(withJSONObject: ["to_stage": payload, "reason": payload])
                let transition = try await server.client.execute(uri: "/api/deals/\(id)/transition", method: .post, headers: session.headers(), body: ByteBuffer(bytes: body))
                #expect(transition.status == .badRequest)
                let created = try await Self.create(server, session, ["canonical_name": payload, "display_name": payload, "broker": ["name": payload]])
                #expect(created.status == .created)
                #expect(try Self.json(created)["canonical_name"] as? String == payload)
            }
            #expect(try await server.count("deals") == before + Self.injections.count)
            #expect(try await server.count("operators") == operators)
            let target = try Self.json(try await server.client.execute(uri: "/api/deals/\(id)", method: .get, headers: session.headers(json: false)))
            #expect(target["stage"] as? String == "inbound" && target["version"] as? Int == 1)
        }
    }

    @Test("the audit log refuses UPDATE and DELETE at the database")
    func auditAppendOnly() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            _ = try await Self.create(server, session, ["canonical_name": "Audited"])
            await #expect(throws: (any Error).self) {
                try await server.database.transaction { sql in try await sql.update("audit_log").set("action", to: SQLBind("forged")).run() }
            }
            await #expect(throws: (any Error).self) {
                try await server.database.transaction { sql in try await sql.delete(from: "audit_log").run() }
            }
            #expect(try await server.changeAuditCount() == 1)
            let action = try await server.database.read { sql in try await sql.select().column("action").from("audit_log").where("action", .notLike, SQLBind("auth.%")).first(decodingColumn: "action", as: String.self) }
            #expect(action == "deal.created")
        }
    }

    @Test("viewers read deals but cannot create or move them; agents read but cannot write")
    func leastPrivilege() async throws {
        try await TestServer.run { server in
            let viewer = try await server.login(try await server.createOperator(role: .viewer))
            let refused = try await Self.create(server, viewer, ["canonical_name": "Nope"])
            #expect(refused.status == .forbidden)
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let agent = try await CSRFAndAccessTests.createServiceAccount(server, admin: admin, role: .operator)
            let agentCreate = try await server.client.execute(uri: "/api/deals", method: .post,
                headers: [.authorization: "Bearer \(agent.key)", .contentType: "application/json"], body: ByteBuffer(string: #"{"canonical_name":"Agent deal"}"#))
            #expect(agentCreate.status == .forbidden)
            let agentList = try await server.client.execute(uri: "/api/deals", method: .get, headers: [.authorization: "Bearer \(agent.key)"])
            #expect(agentList.status == .ok)
            #expect(try await server.count("deals") == 0)
        }
    }

    @Test("pagination neither skips nor repeats while deals are being added")
    func pagination() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            var created: [String] = []
            for index in 0..<7 {
                created.append(try #require(try Self.json(try await Self.create(server, session, ["canonical_name": "Deal \(index)"]))["id"] as? String))
                server.clock.advance(by: 0.001)
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/api/deals?limit=3" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try Self.json(try await server.client.execute(uri: uri, method: .get, headers: session.headers(json: false)))
                seen += (page["deals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page["next_cursor"] as? String
                // A deal added while paging shows up at the end, once.
                if seen.count == 3 {
                    created.append(try #require(try Self.json(try await Self.create(server, session, ["canonical_name": "Late deal"]))["id"] as? String))
                }
            } while cursor != nil
            #expect(seen == created)
            let bad = try await server.client.execute(uri: "/api/deals?cursor=not-a-cursor", method: .get, headers: session.headers(json: false))
            #expect(bad.status == .badRequest)
        }
    }
}
