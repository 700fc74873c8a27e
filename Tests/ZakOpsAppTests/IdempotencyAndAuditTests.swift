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

/// Idempotency on every creating POST, answered in the change's own transaction; the audit
/// trail of service accounts and keys; lists that page in commit order under concurrent writers.
@Suite("Idempotency, identity audit and commit-order paging", .serverSlot)
struct IdempotencyAndAuditTests {
    static func post(_ server: TestServer, _ uri: String, _ session: BrowserSession, _ body: String?, key: String) async throws -> TestResponse {
        var headers = session.headers(json: body != nil)
        headers[HTTPField.Name("Idempotency-Key")!] = key
        return try await server.client.execute(uri: uri, method: .post, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    @Test("the response is recorded with the change: a key left unanswered by a request that died is taken over, a fresh one is 409")
    func abandonedClaim() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator(role: .operator)
            let session = try await server.login(account)
            let body = #"{"canonical_name":"Once"}"#
            let hash = Digest.sha256Hex(Array("POST /api/deals\n".utf8) + Array(body.utf8))
            func leaveClaim(_ key: String, age: TimeInterval) async throws {
                try await server.database.autocommit { sql in
                    try await sql.insert(into: "idempotency_keys").columns("principal_id", "idempotency_key", "request_hash", "created_at")
                        .values(SQLBind(account.id), SQLBind(key), SQLBind(hash), SQLBind(Timestamp.string(from: server.clock.now().addingTimeInterval(-age))))
                        .run()
                }
            }
            // A claim a minute old: its request may still be running.
            try await leaveClaim("running", age: 60)
            let running = try await Self.post(server, "/api/deals", session, body, key: "running")
            #expect(running.status == .conflict)
            #expect(try await server.count("deals") == 0)
            // Ten minutes without an answer: the request died before committing (an answer is
            // written in the change's transaction), so the key runs again, once.
            try await leaveClaim("died", age: 600)
            let retried = try await Self.post(server, "/api/deals", session, body, key: "died")
            #expect(retried.status == .created)
            let replay = try await Self.post(server, "/api/deals", session, body, key: "died")
            #expect(replay.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let retriedID = try DealsTests.json(retried)["id"] as? String
            #expect(try DealsTests.json(replay)["id"] as? String == retriedID)
            #expect(try await server.count("deals") == 1)
            // The stored answer was written by the change's transaction, with the deal's id.
            let stored = try await server.database.read { sql in
                try await sql.select().columns("status", "response_body").from("idempotency_keys").where("idempotency_key", .equal, SQLBind("died")).first()
            }
            #expect(try stored?.decode(column: "status", as: Int.self) == 201)
            let storedBody = try #require(try stored?.decode(column: "response_body", as: String.self))
            #expect(storedBody.contains(try #require(try DealsTests.json(retried)["id"] as? String)))
        }
    }

    @Test("service accounts and API keys: Idempotency-Key replays without the secret, and every change is audited")
    func serviceAccounts() async throws {
        try await TestServer.run { server in
            let admin = try await server.createOperator(role: .admin)
            let session = try await server.login(admin)
            let create = #"{"name":"pipeline-agent","role":"operator"}"#
            let first = try await Self.post(server, "/api/admin/service-accounts", session, create, key: "sa-1")
            #expect(first.status == .created)
            let accountID = try #require(try DealsTests.json(first)["id"] as? String)
            let again = try await Self.post(server, "/api/admin/service-accounts", session, create, key: "sa-1")
            #expect(again.status == .created)
            #expect(try DealsTests.json(again)["id"] as? String == accountID)
            #expect(try await server.count("service_accounts") == 1)
            let unknown = try await Self.post(server, "/api/admin/service-accounts", session, #"{"name":"x","role":"operator","scopes":["all"]}"#, key: "sa-2")
            #expect(unknown.status == .badRequest)
            #expect(unknown.errorBody?.error.field == "scopes")

            let minted = try await Self.post(server, "/api/admin/service-accounts/\(accountID)/keys", session, nil, key: "key-1")
            #expect(minted.status == .created)
            let secret = try #require(try DealsTests.json(minted)["key"] as? String)
            #expect(secret.hasPrefix("zk_"))
            let replayed = try await Self.post(server, "/api/admin/service-accounts/\(accountID)/keys", session, nil, key: "key-1")
            #expect(replayed.status == .created)
            #expect(replayed.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            let replayedBody = try DealsTests.json(replayed)
            let mintedID = try DealsTests.json(minted)["id"] as? String
            #expect(replayedBody["id"] as? String == mintedID)
            #expect(replayedBody["key"] is NSNull, "the key is shown once, never stored for a replay")
            #expect(!replayed.text.contains(secret))
            #expect(try await server.count("api_keys") == 1)
            let storedBodies = try await server.database.read { sql in
                try await sql.select().column("response_body").from("idempotency_keys").all().map { try $0.decode(column: "response_body", as: String?.self) ?? "" }
            }
            #expect(!storedBodies.contains { $0.contains("zk_") })
            let missing = try await Self.post(server, "/api/admin/service-accounts/sa_nosuchaccount/keys", session, nil, key: "key-2")
            #expect(missing.status == .notFound)

            let keyID = try #require(try DealsTests.json(minted)["id"] as? String)
            #expect(try await server.client.execute(uri: "/api/admin/service-accounts/\(accountID)/keys/\(keyID)", method: .delete, headers: session.headers(json: false)).status == .noContent)
            #expect(try await server.client.execute(uri: "/api/admin/service-accounts/\(accountID)/disable", method: .post, headers: session.headers(json: false)).status == .noContent)
            let trail = try DealsTests.json(try await server.client.execute(uri: "/api/admin/audit?target_kind=service_account&target_id=\(accountID)", method: .get, headers: session.headers(json: false)))
            let entries = try #require(trail["entries"] as? [[String: Any]])
            #expect(entries.compactMap { $0["action"] as? String } == ["service_account.disabled", "api_key.revoked", "api_key.created", "service_account.created"])
            #expect(entries.allSatisfy { $0["actor_id"] as? String == admin.id && $0["actor_kind"] as? String == "user" && $0["request_id"] is String })
            #expect(!(String(data: try JSONSerialization.data(withJSONObject: entries), encoding: .utf8) ?? "").contains(secret))
        }
    }

    /// Ids of deals whose creation has been answered.
    actor Answered {
        var ids: [String] = []
        func add(_ id: String) { ids.append(id) }
    }

    @Test("pages neither skip nor repeat while several writers insert at the same instant")
    func pagingUnderConcurrentInserts() async throws {
        try await TestServer.run { server in
            let session = try await server.login(try await server.createOperator(role: .operator))
            let writers = try await withThrowingTaskGroup(of: BrowserSession.self) { group in
                for _ in 0..<3 { group.addTask { try await server.login(try await server.createOperator(role: .operator)) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let answered = Answered()
            // The clock stands still: every deal gets the same creation time, so only the
            // commit order can keep pages stable.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, writer) in writers.enumerated() {
                    group.addTask {
                        for round in 0..<12 {
                            let created = try await DealsTests.create(server, writer, ["canonical_name": "W\(index) R\(round)"])
                            await answered.add(try #require(try DealsTests.json(created)["id"] as? String))
                        }
                    }
                }
                group.addTask {
                    for _ in 0..<6 {
                        let committedBefore = Set(await answered.ids)
                        var seen: [String] = []
                        var cursor: String?
                        repeat {
                            let uri = "/api/deals?limit=4" + (cursor.map { "&cursor=\($0)" } ?? "")
                            let page = try DealsTests.json(try await server.client.execute(uri: uri, method: .get, headers: session.headers(json: false)))
                            seen += (page["deals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                            cursor = page["next_cursor"] as? String
                        } while cursor != nil
                        #expect(Set(seen).count == seen.count, "a page repeated a deal")
                        #expect(committedBefore.isSubset(of: Set(seen)), "a page skipped a committed deal")
                    }
                }
                try await group.waitForAll()
            }
            let all = await answered.ids
            #expect(all.count == 36)
            let audit = try DealsTests.json(try await server.client.execute(uri: "/api/deals?limit=200", method: .get, headers: session.headers(json: false)))
            #expect(Set((audit["deals"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }) == Set(all))
        }
    }
}
