import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsStore
import ZakOpsTestSupport
@testable import ZakOpsApp

extension TestServer {
    /// A JSON request from a signed-in browser (CSRF token included); `body` as written.
    func send(_ method: HTTPRequest.Method, _ uri: String, as session: BrowserSession, body: String? = nil) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: session.headers(json: body != nil), body: body.map { ByteBuffer(string: $0) })
    }

    /// The response body as a JSON object.
    static func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any], "not a JSON object: \(response.text)")
    }

    /// The mail queued in the outbox (servers run with `mailThroughOutbox`), oldest first.
    func queuedMails() async throws -> [Mail] {
        let rows = try await database.read { sql in
            try await sql.select().columns(OutboxRow.columns.map { SQLColumn($0) }).from("outbox")
                .where("consumer", .equal, SQLBind(OutboxMailer.consumer)).orderBy("created_at").all().map(OutboxRow.init(row:))
        }
        return try rows.map { try OutboxMailer.mail(from: $0, keys: components.dataKeys) }
    }

    /// The token of the last password link mailed to `email`.
    func lastLinkToken(to email: String) async throws -> String {
        let mail = try #require(try await queuedMails().last { $0.to == email }, "no mail to \(email)")
        let range = try #require(mail.body.range(of: "#token="), "no link in the mail")
        return String(mail.body[range.upperBound...].prefix { !$0.isWhitespace })
    }

    /// Sets a new password through a mailed link.
    func completeReset(token: String, password: String) async throws -> TestResponse {
        let body = try JSONSerialization.data(withJSONObject: ["token": token, "new_password": password])
        return try await client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: [.contentType: "application/json"],
                                        body: ByteBuffer(bytes: body))
    }

    /// Audit entries of changes, sign-ins (`auth.*`) left out: what a test of a change counts.
    func changeAuditCount() async throws -> Int {
        try await database.read { sql in
            try await sql.select().column(SQLFunction("count", args: SQLLiteral.all), as: "n").from("audit_log")
                .where("action", .notLike, SQLBind("auth.%")).first()?.decode(column: "n", as: Int.self) ?? 0
        }
    }

    /// The audit entries with this action, oldest first, as (actor, target, changes JSON).
    func auditEntries(_ action: String) async throws -> [(actor: String, target: String, changes: String)] {
        try await database.read { sql in
            try await sql.select().columns("actor_id", "target_id", "changes").from("audit_log").where("action", .equal, SQLBind(action))
                .orderBy("seq").all().map {
                    (try $0.decode(column: "actor_id", as: String.self), try $0.decode(column: "target_id", as: String.self),
                     try $0.decode(column: "changes", as: String.self))
                }
        }
    }
}
