import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// The rules of actions: the server computes the risk; low-risk actions are approved on
/// proposal, the rest wait for a human until they expire. Approval is an atomic claim; nobody
/// approves their own proposal; approving a stage transition applies it in the same transaction.
struct ActionService: Sendable {
    let database: Database
    let approvalTTL: TimeInterval

    struct Proposal: StrictDecodable {
        let dealID: String
        let type: ActionType
        let title: String
        let summary: String
        let inputs: JSONValue
        enum CodingKeys: String, CodingKey {
            case type, title, summary, inputs
            case dealID = "deal_id"
        }
        static let knownFields = KnownFields(["deal_id", "type", "title", "summary", "inputs"], nested: ["inputs": .freeForm])
    }

    /// Records a proposal; `reply` is the controller's answer for it, recorded for an idempotent replay.
    func propose(_ proposal: Proposal, by context: ChangeContext, reply: @escaping @Sendable (Action) throws -> Reply) async throws -> Action {
        let title = try Validate.name(proposal.title, field: "title")
        guard !proposal.summary.isEmpty, proposal.summary.count <= 5_000, !JSONValue.string(proposal.summary).hasControlCharacters else {
            throw AppError.validation(field: "summary", problem: "must be text of 1 to 5000 characters")
        }
        try proposal.type.validate(proposal.inputs)
        guard ListQuery.isPublicID(proposal.dealID, prefix: "DEAL-") else {
            throw AppError.validation(field: "deal_id", problem: "must name an existing deal")
        }
        let stamp = Timestamp.string(from: context.time)
        let autoApproved = proposal.type.risk == .low
        let action = Action(
            id: PublicID.make(.action), dealID: proposal.dealID, type: proposal.type,
            title: title, summary: proposal.summary, inputs: proposal.inputs, risk: proposal.type.risk,
            status: autoApproved ? .approved : .pendingApproval, proposedBy: context.actorID, proposedByKind: context.actorKind,
            decidedBy: autoApproved ? "system" : nil, decidedAt: autoApproved ? stamp : nil, decisionReason: autoApproved ? "low risk" : nil,
            expiresAt: Timestamp.string(from: context.time.addingTimeInterval(approvalTTL)), createdAt: stamp
        )
        try await database.transaction { sql in
            guard try await DealRepository.find(proposal.dealID, in: sql) != nil else {
                throw AppError.validation(field: "deal_id", problem: "must name an existing deal")
            }
            let sequence = try await Self.record("action.proposed", action,
                                                 changes: ["status": FieldChange(before: nil, after: .string(ActionStatus.pendingApproval.rawValue))],
                                                 context: context, in: sql)
            try await ActionRepository.insert(action, sequence: sequence, in: sql)
            if autoApproved {
                try await Self.record("action.approved", action,
                                      changes: ["status": FieldChange(before: .string(ActionStatus.pendingApproval.rawValue), after: .string("approved")),
                                                "reason": FieldChange(before: nil, after: .string("low risk"))],
                                      context: ChangeContext(systemAt: context.time), in: sql)
            }
            try await context.record(try reply(action), in: sql)
        }
        return action
    }

    func get(_ id: String) async throws -> Action {
        guard let action = try await database.read({ sql in try await ActionRepository.find(id, in: sql) }) else { throw AppError(.notFound) }
        return action
    }

    func list(status: ActionStatus?, dealID: String?, limit: Int, after cursor: Int64?) async throws -> KeysetPage<Action, Int64> {
        try await database.read { sql in try await ActionRepository.list(status: status, dealID: dealID, limit: limit, after: cursor, in: sql) }
    }

    /// Approves or rejects. Exactly one decision wins; the loser gets 409.
    func decide(_ id: String, approve: Bool, reason: String?, by principal: Principal, context: ChangeContext) async throws -> Action {
        try await database.transaction { sql in
            guard var action = try await ActionRepository.find(id, forUpdate: true, in: sql) else { throw AppError(.notFound) }
            guard action.proposedBy != principal.id else {
                throw AppError(.forbidden, logDetail: "self-approval refused")
            }
            // Nor through an agent: whoever minted a key of the proposing service account is the
            // proposer as far as approval goes.
            if action.proposedByKind == Principal.Kind.service.rawValue,
               try await APIKeyRepository.minted(accountID: action.proposedBy, by: principal.id, in: sql) {
                throw AppError(.forbidden, logDetail: "approval of an action proposed with a key the approver minted")
            }
            guard action.status == .pendingApproval else {
                throw AppError(.conflict, field: "status", problem: "the action is no longer pending")
            }
            guard action.expiresAt > Timestamp.string(from: context.time) else {
                throw AppError(.conflict, field: "status", problem: "the action has expired")
            }
            let status: ActionStatus = approve ? .approved : .rejected
            let stamp = Timestamp.string(from: context.time)
            guard try await ActionRepository.decide(id, status: status, by: principal.id, reason: reason, at: stamp, in: sql) else {
                throw AppError(.conflict, field: "status", problem: "the action is no longer pending")
            }
            action.status = status
            action.decidedBy = principal.id
            action.decidedAt = stamp
            action.decisionReason = reason
            // The deal first, the event counter last, as on every other path (a different order
            // could deadlock against a PATCH of the same deal on PostgreSQL).
            if approve, action.type == .stageTransition, case .object(let inputs) = action.inputs,
               case .string(let stageName) = inputs["to_stage"], let stage = DealStage(rawValue: stageName) {
                var reasonText: String?
                if case .string(let text) = inputs["reason"] { reasonText = text }
                // In this transaction: an invalid move rolls the approval back too (422).
                _ = try await DealService.applyTransition(action.dealID, to: stage, reason: reasonText, by: context, in: sql)
            }
            var changes = ["status": FieldChange(before: .string(ActionStatus.pendingApproval.rawValue), after: .string(status.rawValue))]
            if let reason { changes["reason"] = FieldChange(before: nil, after: .string(reason)) }
            try await Self.record(approve ? "action.approved" : "action.rejected", action, changes: changes, context: context, in: sql)
            return action
        }
    }

    /// Marks pending actions past their time as expired, each with its audit entry and event.
    @discardableResult
    func expireOverdue(now: Date) async throws -> Int {
        let stamp = Timestamp.string(from: now)
        return try await database.transaction { sql in
            let overdue = try await ActionRepository.overdue(at: stamp, limit: 500, in: sql)
            var expired = 0
            for var action in overdue where try await ActionRepository.decide(action.id, status: .expired, by: "system", reason: "expired", at: stamp, in: sql) {
                action.status = .expired
                try await Self.record("action.expired", action,
                                      changes: ["status": FieldChange(before: .string(ActionStatus.pendingApproval.rawValue), after: .string("expired"))],
                                      context: ChangeContext(systemAt: now), in: sql)
                expired += 1
            }
            return expired
        }
    }

    /// The audit entry and the event of a change; returns the event's sequence number.
    @discardableResult
    static func record(_ type: String, _ action: Action, changes: [String: FieldChange], context: ChangeContext, in sql: any SQLDatabase) async throws -> Int64 {
        try await AuditLog.record(action: type, targetKind: "action", targetID: action.id, changes: changes, context: context, in: sql)
        let payload = try JSONText.encode(ActionResponse(action))
        return try await EventLog.append(EventLog.Event(type: type, subjectKind: "action", subjectID: action.id, payload: payload), at: context.time, in: sql)
    }
}
