import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The `deals` table. Every method takes the caller's connection, so changes, their audit
/// entry and their event share one transaction.
enum DealRepository {
    static let columns = ["id", "canonical_name", "display_name", "stage", "status", "broker_name", "broker_email",
                          "company_info", "asking_price", "ebitda", "revenue", "version", "created_at", "updated_at"]

    /// `sequence` is the deal's creation event's: its place in commit order, which lists follow.
    static func insert(_ deal: Deal, createdBy: String, sequence: Int64, in sql: any SQLDatabase) async throws {
        try await sql.insert(into: "deals")
            .columns(columns + ["created_by", "seq"])
            .values(values(deal) + [SQLBind(createdBy), SQLBind(sequence)])
            .run()
    }

    /// A live (not deleted) deal; `forUpdate` locks its row on PostgreSQL.
    static func find(_ id: String, forUpdate: Bool = false, in sql: any SQLDatabase) async throws -> Deal? {
        try await StatementCache.statement(forUpdate ? "deal.find.for_update" : "deal.find", binds: [id], on: sql) { sql in
            var query = sql.select().columns(columns.map { SQLColumn($0) }).from("deals")
                .where("id", .equal, SQLBind(id)).where("deleted_at", .is, SQLLiteral.null)
            if forUpdate { query = query.for(.update) }
            return query.limit(1).query
        }.first().map(deal)
    }

    /// Writes the deal's fields and its version, if the stored version is still `expectedVersion`.
    static func update(_ deal: Deal, expectedVersion: Int, in sql: any SQLDatabase) async throws -> Bool {
        var update = sql.update("deals")
        for (column, value) in zip(columns, values(deal)) where column != "id" && column != "created_at" {
            update = update.set(SQLColumn(column), to: value)
        }
        let changed = try await update.where("id", .equal, SQLBind(deal.id))
            .where("version", .equal, SQLBind(expectedVersion))
            .where("deleted_at", .is, SQLLiteral.null)
            .returning("id").all()
        return !changed.isEmpty
    }

    static func markDeleted(_ id: String, at stamp: String, in sql: any SQLDatabase) async throws {
        try await sql.update("deals").set("deleted_at", to: SQLBind(stamp)).set("updated_at", to: SQLBind(stamp))
            .where("id", .equal, SQLBind(id)).where("deleted_at", .is, SQLLiteral.null).run()
    }

    /// Deals in commit order of their creation, after the cursor: a deal whose transaction is
    /// still open has a higher number than every committed one, so a reader paging through
    /// while others insert never skips or repeats a deal.
    static func list(stage: DealStage?, status: DealStatus?, text: String?, after cursor: Int64?,
                     limit: Int, in sql: any SQLDatabase) async throws -> KeysetPage<Deal, Int64> {
        let pattern = text.map { "%" + $0.lowercased() + "%" }
        var binds: [any Encodable & Sendable] = []
        if let stage { binds.append(stage.rawValue) }
        if let status { binds.append(status.rawValue) }
        if let pattern { binds += [pattern, pattern] }
        if let cursor { binds.append(cursor) }
        // The shape: which filters are present, and the limit (SQLKit writes it as a literal).
        let shape = "deal.list.\(stage != nil).\(status != nil).\(text != nil).\(cursor != nil).\(limit)"
        let rows = try await StatementCache.statement(shape, binds: binds, on: sql) { sql in
            var query = sql.select().columns((columns + ["seq"]).map { SQLColumn($0) }).from("deals").where("deleted_at", .is, SQLLiteral.null)
            if let stage { query = query.where("stage", .equal, SQLBind(stage.rawValue)) }
            if let status { query = query.where("status", .equal, SQLBind(status.rawValue)) }
            if let pattern {
                query = query.where { group in
                    group.where(SQLFunction("lower", args: SQLColumn("canonical_name")), .like, SQLBind(pattern))
                        .orWhere(SQLFunction("lower", args: SQLColumn("display_name")), .like, SQLBind(pattern))
                }
            }
            if let cursor { query = query.where("seq", .greaterThan, SQLBind(cursor)) }
            return query.orderBy("seq").limit(KeysetPage<Deal, Int64>.fetchLimit(limit)).query
        }.all()
        return try KeysetPage(rows: rows, limit: limit, key: { try $0.decode(column: "seq", as: Int64.self) }, item: deal)
    }

    private static func values(_ deal: Deal) -> [SQLBind] {
        return [
            SQLBind(deal.id), SQLBind(deal.canonicalName), SQLBind(deal.displayName), SQLBind(deal.stage.rawValue),
            SQLBind(deal.status.rawValue), SQLBind(deal.broker?.name), SQLBind(deal.broker?.email), SQLBind(deal.companyInfo.text),
            SQLBind(deal.metrics.askingPrice), SQLBind(deal.metrics.ebitda),
            SQLBind(deal.metrics.revenue), SQLBind(deal.version), SQLBind(deal.createdAt), SQLBind(deal.updatedAt),
        ]
    }

    private static func deal(_ row: any SQLRow) throws -> Deal {
        let brokerName = try row.decode(column: "broker_name", as: String?.self)
        let brokerEmail = try row.decode(column: "broker_email", as: String?.self)
        let info = try row.decode(column: "company_info", as: String.self)
        func money(_ column: String) throws -> String? {
            try row.decode(column: column, as: String?.self)
        }
        guard let stage = DealStage(rawValue: try row.decode(column: "stage", as: String.self)),
              let status = DealStatus(rawValue: try row.decode(column: "status", as: String.self)) else {
            throw AppError(.internalError, logDetail: "deal row with an unknown stage or status")
        }
        return Deal(
            id: try row.decode(column: "id", as: String.self),
            canonicalName: try row.decode(column: "canonical_name", as: String.self),
            displayName: try row.decode(column: "display_name", as: String.self),
            stage: stage, status: status,
            broker: brokerName == nil && brokerEmail == nil ? nil : Broker(name: brokerName, email: brokerEmail),
            companyInfo: CanonicalJSON(stored: info),
            metrics: StoredMetrics(storedAskingPrice: try money("asking_price"), ebitda: try money("ebitda"), revenue: try money("revenue")),
            version: try row.decode(column: "version", as: Int.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self)
        )
    }
}
