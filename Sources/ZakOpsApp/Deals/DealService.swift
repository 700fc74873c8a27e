import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The rules of deals. Each change runs in one transaction with its audit entry and its event,
/// so either all three are committed or none is.
struct DealService: Sendable {
    let database: Database
    let clock: any AppClock

    /// Creates a deal; `reply` is the controller's answer for it, recorded for an idempotent replay.
    func create(_ input: CreateDealRequest, by context: ChangeContext, reply: @escaping @Sendable (Deal) -> Reply) async throws -> Deal {
        let name = try Validate.name(input.canonicalName, field: "canonical_name")
        let display = try input.displayName.map { try Validate.name($0, field: "display_name") } ?? name
        let stamp = Timestamp.string(from: context.time)
        let deal = Deal(
            id: PublicID.make(.deal), canonicalName: name, displayName: display,
            stage: input.stage ?? .inbound, status: input.status ?? .active,
            broker: try DealValidation.broker(input.broker), companyInfo: CanonicalJSON(try DealValidation.companyInfo(input.companyInfo)),
            metrics: StoredMetrics(try DealValidation.metrics(input.metrics)), version: 1, createdAt: stamp, updatedAt: stamp
        )
        guard DealStage.pipeline.contains(deal.stage) else {
            throw AppError.validation(field: "stage", problem: "a new deal starts at a working stage (inbound to closing)")
        }
        try await database.transaction { sql in
            let sequence = try await EventLog.append(Self.event("deal.created", deal), at: context.time, in: sql)
            try await DealRepository.insert(deal, createdBy: context.actorID, sequence: sequence, in: sql)
            try await AuditLog.record(action: "deal.created", targetKind: "deal", targetID: deal.id,
                                      changes: DealChanges.between(nil, deal), context: context, in: sql)
            try await context.record(reply(deal), in: sql)
        }
        return deal
    }

    func get(_ id: String) async throws -> Deal {
        guard let deal = try await database.read({ sql in try await DealRepository.find(id, in: sql) }) else {
            throw AppError(.notFound)
        }
        return deal
    }

    func list(stage: DealStage?, status: DealStatus?, text: String?, after cursor: Int64?, limit: Int) async throws -> KeysetPage<Deal, Int64> {
        try await database.read { sql in
            try await DealRepository.list(stage: stage, status: status, text: text, after: cursor, limit: limit, in: sql)
        }
    }

    /// Applies a partial update if the deal is still at `expectedVersion` (else 412, nothing
    /// changes). A request that changes nothing writes nothing.
    func update(_ id: String, _ input: UpdateDealRequest, expectedVersion: Int, by context: ChangeContext) async throws -> Deal {
        let name = try input.canonicalName.map { try Validate.name($0, field: "canonical_name") }
        let display = try input.displayName.map { try Validate.name($0, field: "display_name") }
        let broker = try input.broker.map { try DealValidation.broker($0) }
        let info = try input.companyInfo.map { try DealValidation.companyInfo($0) }
        let metrics = try input.metrics.map { patch in
            _ = try DealValidation.metrics(DealMetrics(askingPrice: patch.askingPrice ?? nil, ebitda: patch.ebitda ?? nil, revenue: patch.revenue ?? nil))
            return patch
        }
        return try await database.transaction { sql in
            guard var deal = try await DealRepository.find(id, forUpdate: true, in: sql) else { throw AppError(.notFound) }
            guard deal.version == expectedVersion else { throw AppError(.preconditionFailed) }
            let before = deal
            if let name { deal.canonicalName = name }
            if let display { deal.displayName = display }
            if let status = input.status { deal.status = status }
            if let broker { deal.broker = broker }
            if let info { deal.companyInfo = CanonicalJSON(info) }
            if let metrics { deal.metrics = metrics.applied(to: deal.metrics) }
            if deal == before { return deal }
            deal.version += 1
            deal.updatedAt = Timestamp.string(from: context.time)
            guard try await DealRepository.update(deal, expectedVersion: before.version, in: sql) else { throw AppError(.preconditionFailed) }
            try await AuditLog.record(action: "deal.updated", targetKind: "deal", targetID: deal.id,
                                      changes: DealChanges.between(before, deal), context: context, in: sql)
            try await EventLog.append(Self.event("deal.updated", deal), at: context.time, in: sql)
            return deal
        }
    }

    /// Soft delete: the deal disappears from the API; its row, audit trail and events remain.
    func delete(_ id: String, by context: ChangeContext) async throws {
        try await database.transaction { sql in
            guard let deal = try await DealRepository.find(id, forUpdate: true, in: sql) else { throw AppError(.notFound) }
            try await DealRepository.markDeleted(deal.id, at: Timestamp.string(from: context.time), in: sql)
            try await AuditLog.record(action: "deal.deleted", targetKind: "deal", targetID: deal.id,
                                      changes: ["deleted": FieldChange(before: .bool(false), after: .bool(true))], context: context, in: sql)
            try await EventLog.append(EventLog.Event(type: "deal.deleted", subjectKind: "deal", subjectID: deal.id, payload: #"{"id":"\#(deal.id)"}"#),
                                      at: context.time, in: sql)
        }
    }

    /// The deal's events, oldest first (at most the latest 500).
    func timeline(_ id: String) async throws -> [EventLog.Entry] {
        try await database.read { sql in
            guard try await DealRepository.find(id, in: sql) != nil else { throw AppError(.notFound) }
            return try await EventLog.entries(subjectKind: "deal", subjectID: id, limit: 500, in: sql)
        }
    }

    /// Moves the deal along the pipeline. Asking for the current stage changes nothing; a move
    /// the pipeline does not allow is 422 naming the valid next stages.
    func transition(_ id: String, to target: DealStage, reason: String?, by context: ChangeContext) async throws -> Deal {
        let reason = try reason.map { try Validate.name($0, field: "reason") }
        return try await database.transaction { sql in
            try await Self.applyTransition(id, to: target, reason: reason, by: context, in: sql)
        }
    }

    /// The transition inside the caller's transaction (an approved `deal.stage_transition`
    /// action applies it in the approval's own).
    static func applyTransition(_ id: String, to target: DealStage, reason: String?, by context: ChangeContext, in sql: any SQLDatabase) async throws -> Deal {
        guard var deal = try await DealRepository.find(id, forUpdate: true, in: sql) else { throw AppError(.notFound) }
        if deal.stage == target { return deal }
        guard deal.stage.canMove(to: target) else {
            let valid = deal.stage.next.map(\.rawValue).joined(separator: ", ")
            throw AppError(.invalidStageTransition, field: "to_stage",
                           problem: valid.isEmpty ? "this stage is final" : "valid next stages: \(valid)")
        }
        let before = deal
        deal.stage = target
        deal.version += 1
        deal.updatedAt = Timestamp.string(from: context.time)
        guard try await DealRepository.update(deal, expectedVersion: before.version, in: sql) else { throw AppError(.conflict) }
        var changes = DealChanges.between(before, deal)
        if let reason { changes["reason"] = FieldChange(before: nil, after: .string(reason)) }
        try await AuditLog.record(action: "deal.stage_changed", targetKind: "deal", targetID: deal.id, changes: changes, context: context, in: sql)
        try await EventLog.append(Self.event("deal.stage_changed", deal), at: context.time, in: sql)
        return deal
    }

    static func event(_ type: String, _ deal: Deal) -> EventLog.Event {
        // The event log keeps no personal data: the broker is left out (the deal itself has it).
        var view = deal
        view.broker = nil
        let payload = DealJSON.render(view)
        return EventLog.Event(type: type, subjectKind: "deal", subjectID: deal.id, payload: payload)
    }
}
