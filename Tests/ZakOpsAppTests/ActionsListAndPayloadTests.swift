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

/// Actions: paging, least privilege per role, and hostile payloads in every field.
@Suite("Actions: lists, roles and payloads", .serverSlot)
struct ActionsListAndPayloadTests {
    static func valuation(_ dealID: String, title: String = "Model", summary: String = "DCF") throws -> String {
        let body: [String: Any] = ["deal_id": dealID, "type": "analysis.build_valuation_model", "title": title, "summary": summary, "inputs": ["method": "dcf"]]
        return String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    @Test("GET /api/actions pages in proposal order with an opaque cursor, filters by status, and refuses bad parameters")
    func paging() async throws {
        try await TestServer.run { server in
            let setup = try await ActionsTests.setUp(server)
            var proposed: [String] = []
            for index in 0..<5 {
                let body = index.isMultiple(of: 2) ? ActionsTests.email(setup.dealID) : try Self.valuation(setup.dealID)
                proposed.append(try #require(try DealsTests.json(try await ActionsTests.propose(setup, body))["id"] as? String))
            }
            var seen: [String] = []
            var cursor: String?
            repeat {
                let uri = "/api/actions?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try DealsTests.json(try await server.client.execute(uri: uri, method: .get, headers: setup.operatorSession.headers(json: false)))
                seen += (page["actions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == proposed)
            let pending = try DealsTests.json(try await server.client.execute(uri: "/api/actions?pending=true", method: .get, headers: setup.operatorSession.headers(json: false)))
            let pendingIDs = (pending["actions"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            #expect(pendingIDs == [proposed[0], proposed[2], proposed[4]])
            for query in ["pending=yes", "status=open", "cursor=abc", "limit=0", "limit=201", "deal_id=nope"] {
                let refused = try await server.client.execute(uri: "/api/actions?\(query)", method: .get, headers: setup.operatorSession.headers(json: false))
                #expect(refused.status == .badRequest, "\(query)")
                #expect(refused.errorBody?.error.code == "VALIDATION_ERROR")
            }
        }
    }

    @Test("roles on action routes: viewers only read, operators propose and approve, agents read and propose, nobody without a credential")
    func roleMatrix() async throws {
        try await TestServer.run { server in
            let setup = try await ActionsTests.setUp(server)
            let viewer = try await server.login(try await server.createOperator(role: .viewer))
            let admin = try await server.login(try await server.createOperator(role: .admin))
            let viewerAgent = try await CSRFAndAccessTests.createServiceAccount(server, admin: admin, role: .viewer)
            let adminAgent = try await CSRFAndAccessTests.createServiceAccount(server, admin: admin, role: .admin)
            let pendingID = try #require(try DealsTests.json(try await ActionsTests.propose(setup, ActionsTests.email(setup.dealID)))["id"] as? String)
            let before = try await server.count("actions")
            let audit = try await server.count("audit_log")

            func call(_ uri: String, _ method: HTTPRequest.Method, _ headers: HTTPFields, _ body: String? = nil) async throws -> HTTPResponse.Status {
                try await server.client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }).status
            }
            func bearer(_ key: String) -> HTTPFields { [.authorization: "Bearer \(key)", .contentType: "application/json"] }
            let propose = ActionsTests.email(setup.dealID)
            let reject = #"{"reason":"no"}"#
            // Viewers (people or agents) read and nothing else.
            for headers in [viewer.headers(), bearer(viewerAgent.key)] {
                #expect(try await call("/api/actions", .get, headers) == .ok)
                #expect(try await call("/api/actions/\(pendingID)", .get, headers) == .ok)
                #expect(try await call("/api/actions", .post, headers, propose) == .forbidden)
                #expect(try await call("/api/actions/\(pendingID)/approve", .post, headers) == .forbidden)
                #expect(try await call("/api/actions/\(pendingID)/reject", .post, headers, reject) == .forbidden)
            }
            // An agent, even with the admin role, never approves or rejects.
            for key in [setup.agentKey, adminAgent.key] {
                #expect(try await call("/api/actions/\(pendingID)/approve", .post, bearer(key)) == .forbidden)
                #expect(try await call("/api/actions/\(pendingID)/reject", .post, bearer(key), reject) == .forbidden)
            }
            // No credential, or a made-up key: 401.
            #expect(try await call("/api/actions", .get, [:]) == .unauthorized)
            #expect(try await call("/api/actions", .post, bearer("zk_" + RandomToken.base32(RandomToken.bytes(32))), propose) == .unauthorized)
            #expect(try await server.count("actions") == before)
            #expect(try await server.count("audit_log") == audit)
            let action = try DealsTests.json(try await server.client.execute(uri: "/api/actions/\(pendingID)", method: .get, headers: viewer.headers(json: false)))
            #expect(action["status"] as? String == "pending_approval")
            // Operators propose and approve (someone else's proposal).
            #expect(try await call("/api/actions", .post, setup.operatorSession.headers(), try Self.valuation(setup.dealID)) == .created)
            #expect(try await call("/api/actions/\(pendingID)/approve", .post, setup.operatorSession.headers()) == .ok)
        }
    }

    @Test("markup in action fields comes back as inert JSON string data")
    func markupIsInert() async throws {
        try await TestServer.run { server in
            let setup = try await ActionsTests.setUp(server)
            for payload in DealsTests.markup {
                let created = try await ActionsTests.propose(setup, try Self.valuation(setup.dealID, title: payload, summary: payload))
                #expect(created.status == .created)
                #expect(created.headers[.contentType] == "application/json; charset=utf-8")
                let id = try #require(try DealsTests.json(created)["id"] as? String)
                let fetched = try await server.client.execute(uri: "/api/actions/\(id)", method: .get, headers: setup.operatorSession.headers(json: false))
                #expect(fetched.headers[.contentType] == "application/json; charset=utf-8")
                let action = try DealsTests.json(fetched)
                #expect(action["title"] as? String == payload)
                #expect(action["summary"] as? String == payload)
            }
            let pendingID = try #require(try DealsTests.json(try await ActionsTests.propose(setup, ActionsTests.email(setup.dealID)))["id"] as? String)
            let reason = try JSONSerialization.data(withJSONObject: ["reason": DealsTests.markup[0]])
            let rejected = try await server.client.execute(uri: "/api/actions/\(pendingID)/reject", method: .post, headers: setup.operatorSession.headers(), body: ByteBuffer(bytes: reason))
            #expect(rejected.status == .ok)
            #expect(try DealsTests.json(rejected)["decision_reason"] as? String == DealsTests.markup[0])
        }
    }

    @Test("SQL injection payloads in every action path, query and body field: no 5xx, nothing outside reach, tables unchanged")
    func injectionPayloads() async throws {
        try await TestServer.run { server in
            let setup = try await ActionsTests.setUp(server)
            let pendingID = try #require(try DealsTests.json(try await ActionsTests.propose(setup, ActionsTests.email(setup.dealID)))["id"] as? String)
            let actions = try await server.count("actions")
            let operators = try await server.count("operators")
            let agent: HTTPFields = [.authorization: "Bearer \(setup.agentKey)", .contentType: "application/json"]
            for payload in DealsTests.injections {
                let encoded = payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
                for uri in ["/api/actions/\(encoded)", "/api/actions/ACT-\(encoded)", "/api/actions?status=\(encoded)", "/api/actions?deal_id=\(encoded)",
                            "/api/actions?deal_id=DEAL-\(encoded)", "/api/actions?cursor=\(encoded)", "/api/actions?limit=\(encoded)",
                            "/api/actions?pending=\(encoded)"] {
                    let response = try await server.client.execute(uri: uri, method: .get, headers: setup.operatorSession.headers(json: false))
                    #expect(response.status.code < 500, "\(uri)")
                    if response.status == .ok, let listed = try? DealsTests.json(response)["actions"] as? [Any] {
                        #expect(listed.isEmpty, "\(uri) matched nothing")
                    }
                }
                for uri in ["/api/actions/\(encoded)/approve", "/api/actions/ACT-\(encoded)/reject"] {
                    let response = try await server.client.execute(uri: uri, method: .post, headers: setup.operatorSession.headers(), body: ByteBuffer(string: #"{"reason":"r"}"#))
                    #expect(response.status == .notFound, "\(uri)")
                }
                // Payloads in the body: refused where they break a rule, stored as text where they are text.
                for fields in [["deal_id": payload], ["type": payload]] {
                    var body: [String: Any] = ["deal_id": setup.dealID, "type": "analysis.build_valuation_model", "title": "T", "summary": "S", "inputs": ["method": "dcf"]]
                    body.merge(fields) { $1 }
                    let refused = try await server.client.execute(uri: "/api/actions", method: .post, headers: agent, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
                    #expect(refused.status == .badRequest)
                }
                let inputs = try await server.client.execute(uri: "/api/actions", method: .post, headers: agent,
                    body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["deal_id": setup.dealID, "type": "analysis.build_valuation_model", "title": "T", "summary": "S", "inputs": ["method": payload]])))
                #expect(inputs.status == .badRequest)
                let reason = try JSONSerialization.data(withJSONObject: ["reason": payload, "status": "approved"])
                let reject = try await server.client.execute(uri: "/api/actions/\(pendingID)/reject", method: .post, headers: setup.operatorSession.headers(), body: ByteBuffer(bytes: reason))
                #expect(reject.status == .badRequest)
                let stored = try await ActionsTests.propose(setup, try Self.valuation(setup.dealID, title: payload, summary: payload))
                #expect(stored.status == .created)
                #expect(try DealsTests.json(stored)["title"] as? String == payload)
            }
            #expect(try await server.count("actions") == actions + DealsTests.injections.count)
            #expect(try await server.count("operators") == operators)
            let pending = try DealsTests.json(try await server.client.execute(uri: "/api/actions/\(pendingID)", method: .get, headers: setup.operatorSession.headers(json: false)))
            #expect(pending["status"] as? String == "pending_approval")
        }
    }
}
