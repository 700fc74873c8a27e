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

/// Agents propose, humans approve: through the API, on both databases.
@Suite("Actions", .serverSlot)
struct ActionsTests {
    struct Setup {
        let server: TestServer
        let operatorSession: BrowserSession
        let operatorID: String
        let agentKey: String
        let dealID: String
        /// The admin who minted `agentKey`.
        let minter: BrowserSession
    }

    static func setUp(_ server: TestServer) async throws -> Setup {
        let account = try await server.createOperator(role: .operator)
        let session = try await server.login(account)
        let admin = try await server.login(try await server.createOperator(role: .admin))
        let agent = try await CSRFAndAccessTests.createServiceAccount(server, admin: admin, role: .operator)
        let deal = try await DealsTests.create(server, session, ["canonical_name": "Action target"])
        return Setup(server: server, operatorSession: session, operatorID: account.id, agentKey: agent.key,
                     dealID: try #require(try DealsTests.json(deal)["id"] as? String), minter: admin)
    }

    static func propose(_ setup: Setup, _ body: String) async throws -> TestResponse {
        try await setup.server.client.execute(uri: "/api/actions", method: .post,
            headers: [.authorization: "Bearer \(setup.agentKey)", .contentType: "application/json"], body: ByteBuffer(string: body))
    }

    static func email(_ dealID: String) -> String {
        #"{"deal_id":"\#(dealID)","type":"communication.send_email","title":"Intro","summary":"Say hello","inputs":{"to":"ceo@target.example","subject":"Hello","body":"Hi"}}"#
    }

    @Test("an agent proposes; the server sets the risk; bad or self-assigned fields are refused")
    func propose() async throws {
        try await TestServer.run { server in
            let setup = try await Self.setUp(server)
            let created = try await Self.propose(setup, Self.email(setup.dealID))
            #expect(created.status == .created)
            let action = try DealsTests.json(created)
            #expect(action["risk"] as? String == "critical" && action["status"] as? String == "pending_approval")
            let low = try DealsTests.json(try await Self.propose(setup, #"{"deal_id":"\#(setup.dealID)","type":"analysis.build_valuation_model","title":"Model","summary":"DCF","inputs":{"method":"dcf"}}"#))
            #expect(low["risk"] as? String == "low" && low["status"] as? String == "approved")
            let count = try await server.count("actions")
            for (body, field) in [
                (#"{"deal_id":"\#(setup.dealID)","type":"communication.send_email","title":"T","summary":"S","risk":"low","inputs":{"to":"a@b.example","subject":"s","body":"b"}}"#, "risk"),
                (#"{"deal_id":"\#(setup.dealID)","type":"communication.send_email","title":"T","summary":"S","inputs":{"to":"not an address","subject":"s","body":"b"}}"#, "inputs.to"),
                (#"{"deal_id":"\#(setup.dealID)","type":"communication.send_email","title":"T","summary":"S","inputs":{"to":"a@b.example","subject":"s","body":"b","bcc":"x@y.example"}}"#, "inputs.bcc"),
                (#"{"deal_id":"\#(setup.dealID)","type":"wire.transfer","title":"T","summary":"S","inputs":{}}"#, "type"),
                (#"{"deal_id":"DEAL-NOSUCHDEAL","type":"analysis.build_valuation_model","title":"T","summary":"S","inputs":{"method":"dcf"}}"#, "deal_id"),
            ] {
                let refused = try await Self.propose(setup, body)
                #expect(refused.status == .badRequest, "\(field)")
                #expect(refused.errorBody?.error.field == field)
            }
            #expect(try await server.count("actions") == count)
        }
    }

    @Test("approval: agents cannot, proposers cannot approve their own, one of two racing approvers wins, and the winner is audited")
    func approval() async throws {
        try await TestServer.run { server in
            let setup = try await Self.setUp(server)
            let id = try #require(try DealsTests.json(try await Self.propose(setup, Self.email(setup.dealID)))["id"] as? String)
            let byAgent = try await server.client.execute(uri: "/api/actions/\(id)/approve", method: .post, headers: [.authorization: "Bearer \(setup.agentKey)"])
            #expect(byAgent.status == .forbidden)
            // An operator's own proposal.
            let own = try await server.client.execute(uri: "/api/actions", method: .post, headers: setup.operatorSession.headers(), body: ByteBuffer(string: Self.email(setup.dealID)))
            let ownID = try #require(try DealsTests.json(own)["id"] as? String)
            let selfApproval = try await server.client.execute(uri: "/api/actions/\(ownID)/approve", method: .post, headers: setup.operatorSession.headers(json: false))
            #expect(selfApproval.status == .forbidden)
            // Nor through an agent: the admin who minted the proposing key cannot approve.
            #expect(try await server.client.execute(uri: "/api/actions/\(id)/approve", method: .post, headers: setup.minter.headers(json: false)).status == .forbidden)
            // Two approvers at once: one 200, one 409, approved once.
            let first = try await server.login(try await server.createOperator(role: .admin))
            let second = try await server.login(try await server.createOperator(role: .operator))
            async let a = server.client.execute(uri: "/api/actions/\(id)/approve", method: .post, headers: first.headers(json: false))
            async let b = server.client.execute(uri: "/api/actions/\(id)/approve", method: .post, headers: second.headers(json: false))
            let statuses = [try await a.status, try await b.status].map(\.code).sorted()
            #expect(statuses == [200, 409])
            let approvals = try await server.database.read { sql in
                try await sql.select().column("actor_id").from("audit_log").where("action", .equal, SQLBind("action.approved")).where("target_id", .equal, SQLBind(id)).all()
            }
            #expect(approvals.count == 1)
            let action = try DealsTests.json(try await server.client.execute(uri: "/api/actions/\(id)", method: .get, headers: first.headers(json: false)))
            #expect(action["status"] as? String == "approved")
        }
    }

    @Test("approving a stage transition moves the deal in the same transaction; an invalid one approves nothing")
    func stageTransition() async throws {
        try await TestServer.run { server in
            let setup = try await Self.setUp(server)
            let approver = try await server.login(try await server.createOperator(role: .operator))
            func proposeMove(_ stage: String) async throws -> String {
                try #require(try DealsTests.json(try await Self.propose(setup, #"{"deal_id":"\#(setup.dealID)","type":"deal.stage_transition","title":"Move","summary":"Next","inputs":{"to_stage":"\#(stage)","reason":"ready"}}"#))["id"] as? String)
            }
            let invalid = try await proposeMove("closing")
            let refused = try await server.client.execute(uri: "/api/actions/\(invalid)/approve", method: .post, headers: approver.headers(json: false))
            #expect(refused.status == .unprocessableContent)
            #expect(try DealsTests.json(try await server.client.execute(uri: "/api/actions/\(invalid)", method: .get, headers: approver.headers(json: false)))["status"] as? String == "pending_approval")
            let valid = try await proposeMove("initial_review")
            #expect(try await server.client.execute(uri: "/api/actions/\(valid)/approve", method: .post, headers: approver.headers(json: false)).status == .ok)
            let deal = try DealsTests.json(try await server.client.execute(uri: "/api/deals/\(setup.dealID)", method: .get, headers: approver.headers(json: false)))
            #expect(deal["stage"] as? String == "initial_review")
        }
    }

    @Test("rejection needs a reason; pending actions expire after the TTL, by the system, audited")
    func rejectAndExpire() async throws {
        try await TestServer.run { server in
            let setup = try await Self.setUp(server)
            let approver = try await server.login(try await server.createOperator(role: .operator))
            let id = try #require(try DealsTests.json(try await Self.propose(setup, Self.email(setup.dealID)))["id"] as? String)
            let noReason = try await server.client.execute(uri: "/api/actions/\(id)/reject", method: .post, headers: approver.headers(), body: ByteBuffer(string: "{}"))
            #expect(noReason.status == .badRequest && noReason.errorBody?.error.field == "reason")
            let rejected = try await server.client.execute(uri: "/api/actions/\(id)/reject", method: .post, headers: approver.headers(), body: ByteBuffer(string: #"{"reason":"not now"}"#))
            #expect(rejected.status == .ok)
            #expect(try DealsTests.json(rejected)["status"] as? String == "rejected")

            let later = try #require(try DealsTests.json(try await Self.propose(setup, Self.email(setup.dealID)))["id"] as? String)
            server.clock.advance(by: 73 * 3600)
            let expired = try await ActionService(database: server.database, approvalTTL: 0).expireOverdue(now: server.clock.now())
            #expect(expired == 1)
            // Sessions last 24 hours: a fresh one, three days later.
            let approverNow = try await server.login(try await server.createOperator(role: .operator))
            let tooLate = try await server.client.execute(uri: "/api/actions/\(later)/approve", method: .post, headers: approverNow.headers(json: false))
            #expect(tooLate.status == .conflict)
            let actor = try await server.database.read { sql in
                try await sql.select().column("actor_kind").from("audit_log").where("action", .equal, SQLBind("action.expired")).first(decodingColumn: "actor_kind", as: String.self)
            }
            #expect(actor == "system")
            let pending = try DealsTests.json(try await server.client.execute(uri: "/api/actions?pending=true", method: .get, headers: approverNow.headers(json: false)))
            #expect((pending["actions"] as? [Any])?.isEmpty == true)
        }
    }
}
