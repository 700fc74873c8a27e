import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsHTTP

/// Who changed something, from where: the audit entry's actor and provenance.
struct ChangeContext: Sendable {
    let actorID: String
    /// `user`, `service` or `system`.
    let actorKind: String
    let requestID: String?
    let clientIP: String?
    let time: Date
    /// The request's `Idempotency-Key` claim: a creating change records its response with it,
    /// in its own transaction.
    let idempotency: IdempotencyClaim?

    init(principal: Principal, request context: AppRequestContext, time: Date) {
        actorID = principal.id
        actorKind = principal.kind.rawValue
        requestID = context.requestID
        clientIP = context.clientIP
        idempotency = context.idempotencyClaim
        self.time = time
    }

    /// A change made by an operator at the host, through a `zakops` command (no request).
    init(commandLineAt time: Date) {
        actorID = "cli"
        actorKind = "system"
        requestID = nil
        clientIP = nil
        idempotency = nil
        self.time = time
    }

    /// A change the server makes by itself (expiry jobs).
    init(systemAt time: Date) {
        actorID = "system"
        actorKind = "system"
        requestID = nil
        clientIP = nil
        idempotency = nil
        self.time = time
    }

    /// Records a creating request's response under its `Idempotency-Key`, in the change's
    /// transaction (nothing without a key): a replay then returns it, and a change that rolls
    /// back leaves the key unanswered for the middleware to release.
    func recordResponse(status: Int, body: some Encodable, location: String?, in sql: any SQLDatabase) async throws {
        guard idempotency != nil else { return }
        try await recordResponse(status: status, json: try JSONText.encode(body), location: location, in: sql)
    }

    /// The same, for a body already written as JSON text.
    func recordResponse(status: Int, json: String, location: String?, in sql: any SQLDatabase) async throws {
        guard let idempotency else { return }
        try await IdempotencyStore.record(idempotency, status: status, body: json, location: location, in: sql)
    }
}

/// One field's change: the values before and after as JSON, or `redacted` for personal data.
struct FieldChange: Sendable, Encodable {
    let before: JSONValue?
    let after: JSONValue?

    static let redacted = JSONValue.string("[redacted]")
}

/// Writes audit entries inside the caller's transaction, so an entry exists exactly when its
/// change was committed.
enum AuditLog {
    static func record(
        action: String, targetKind: String, targetID: String, changes: [String: FieldChange],
        context: ChangeContext, in sql: any SQLDatabase
    ) async throws {
        let changesText = try JSONText.encode(changes)
        // The entry's place in commit order, from the counter row the event log also locks
        // (one row, so one lock order); held until commit, so numbers follow commit order.
        guard let sequence = try await sql.update("event_sequence")
            .set("audit_value", to: SQLBinaryExpression(SQLColumn("audit_value"), .add, SQLLiteral.numeric("1")))
            .where("id", .equal, SQLBind(1))
            .returning("audit_value")
            .first(decodingColumn: "audit_value", as: Int64.self)
        else { throw AppError(.internalError, logDetail: "event_sequence row missing") }
        try await sql.insert(into: "audit_log")
            .columns("id", "seq", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes", "request_id", "client_ip")
            .values(SQLBind(PublicID.make("aud")), SQLBind(sequence), SQLBind(Timestamp.string(from: context.time)), SQLBind(context.actorID),
                    SQLBind(context.actorKind), SQLBind(action), SQLBind(targetKind), SQLBind(targetID), SQLBind(changesText),
                    SQLBind(context.requestID), SQLBind(context.clientIP))
            .run()
    }
}
