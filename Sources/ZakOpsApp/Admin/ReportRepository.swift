import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The `reports` table: what a playbook or review produced (the auth-breach access report, an
/// access review), kept as JSON so that it can be read again after the run. Every value is bound.
enum ReportRepository {
    enum Kind: String, Sendable {
        case accessReport = "access_report"
        case accessReview = "access_review"
    }

    /// Stores `body` in the caller's transaction; returns the report's id.
    static func insert(_ kind: Kind, body: some Encodable, by context: ChangeContext, in sql: any SQLDatabase) async throws -> String {
        let id = "rpt_" + RandomToken.base32(RandomToken.bytes(10))
        try await sql.insert(into: "reports").columns("id", "kind", "created_at", "created_by", "body")
            .values(SQLBind(id), SQLBind(kind.rawValue), SQLBind(Timestamp.string(from: context.time)), SQLBind(context.actorID),
                    SQLBind(try JSONText.encode(body)))
            .run()
        return id
    }

    /// A stored report's JSON, nil if there is none of that kind with that id.
    static func body(_ id: String, kind: Kind, in sql: any SQLDatabase) async throws -> String? {
        try await sql.select().column("body").from("reports").where("id", .equal, SQLBind(id)).where("kind", .equal, SQLBind(kind.rawValue))
            .first()?.decode(column: "body", as: String.self)
    }
}
