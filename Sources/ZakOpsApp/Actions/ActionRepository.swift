import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The `actions` table; every method takes the caller's connection.
enum ActionRepository {
    static let columns = ["id", "deal_id", "type", "title", "summary", "inputs", "risk", "status", "proposed_by", "proposed_by_kind",
                          "decided_by", "decided_at", "decision_reason", "expires_at", "created_at"]

    /// `sequence` is the proposal event's: the action's place in commit order, which lists follow.
    static func insert(_ action: Action, sequence: Int64, in sql: any SQLDatabase) async throws {
        let inputs = try JSONText.encode(action.inputs)
        try await sql.insert(into: "actions").columns(columns + ["seq"]).values(
            SQLBind(action.id), SQLBind(action.dealID), SQLBind(action.type.rawValue), SQLBind(action.title), SQLBind(action.summary),
            SQLBind(inputs), SQLBind(action.risk.rawValue), SQLBind(action.status.rawValue), SQLBind(action.proposedBy),
            SQLBind(action.proposedByKind), SQLBind(action.decidedBy), SQLBind(action.decidedAt), SQLBind(action.decisionReason),
            SQLBind(action.expiresAt), SQLBind(action.createdAt), SQLBind(sequence)
        ).run()
    }

    static func find(_ id: String, forUpdate: Bool = false, in sql: any SQLDatabase) async throws -> Action? {
        var query = sql.select().columns(columns.map { SQLColumn($0) }).from("actions").where("id", .equal, SQLBind(id))
        if forUpdate { query = query.for(.update) }
        return try await query.first().map(action)
    }

    /// Moves a pending action to a decision, only if it is still pending: the atomic claim that
    /// lets exactly one of two racing approvers win.
    static func decide(_ id: String, status: ActionStatus, by decider: String, reason: String?, at stamp: String, in sql: any SQLDatabase) async throws -> Bool {
        let rows = try await sql.update("actions")
            .set("status", to: SQLBind(status.rawValue)).set("decided_by", to: SQLBind(decider))
            .set("decided_at", to: SQLBind(stamp)).set("decision_reason", to: SQLBind(reason))
            .where("id", .equal, SQLBind(id)).where("status", .equal, SQLBind(ActionStatus.pendingApproval.rawValue))
            .returning("id").all()
        return !rows.isEmpty
    }

    /// Actions in commit order of their proposal, after the cursor (see `DealRepository.list`).
    static func list(status: ActionStatus?, dealID: String?, limit: Int, after cursor: Int64?, in sql: any SQLDatabase) async throws -> KeysetPage<Action, Int64> {
        var query = sql.select().columns((columns + ["seq"]).map { SQLColumn($0) }).from("actions")
        if let status { query = query.where("status", .equal, SQLBind(status.rawValue)) }
        if let dealID { query = query.where("deal_id", .equal, SQLBind(dealID)) }
        if let cursor { query = query.where("seq", .greaterThan, SQLBind(cursor)) }
        let rows = try await query.orderBy("seq").limit(KeysetPage<Action, Int64>.fetchLimit(limit)).all()
        return try KeysetPage(rows: rows, limit: limit, key: { try $0.decode(column: "seq", as: Int64.self) }, item: action)
    }

    /// Pending actions whose time is up, oldest first.
    static func overdue(at stamp: String, limit: Int, in sql: any SQLDatabase) async throws -> [Action] {
        try await sql.select().columns(columns.map { SQLColumn($0) }).from("actions")
            .where("status", .equal, SQLBind(ActionStatus.pendingApproval.rawValue)).where("expires_at", .lessThanOrEqual, SQLBind(stamp))
            .orderBy("expires_at").limit(limit).all().map(action)
    }

    private static func action(_ row: any SQLRow) throws -> Action {
        guard let type = ActionType(rawValue: try row.decode(column: "type", as: String.self)),
              let risk = ActionRisk(rawValue: try row.decode(column: "risk", as: String.self)),
              let status = ActionStatus(rawValue: try row.decode(column: "status", as: String.self)) else {
            throw AppError(.internalError, logDetail: "action row with an unknown type, risk or status")
        }
        return Action(
            id: try row.decode(column: "id", as: String.self), dealID: try row.decode(column: "deal_id", as: String.self), type: type,
            title: try row.decode(column: "title", as: String.self), summary: try row.decode(column: "summary", as: String.self),
            inputs: JSONText.value(try row.decode(column: "inputs", as: String.self), fallback: .object([:])),
            risk: risk, status: status,
            proposedBy: try row.decode(column: "proposed_by", as: String.self), proposedByKind: try row.decode(column: "proposed_by_kind", as: String.self),
            decidedBy: try row.decode(column: "decided_by", as: String?.self), decidedAt: try row.decode(column: "decided_at", as: String?.self),
            decisionReason: try row.decode(column: "decision_reason", as: String?.self),
            expiresAt: try row.decode(column: "expires_at", as: String.self), createdAt: try row.decode(column: "created_at", as: String.self)
        )
    }
}
