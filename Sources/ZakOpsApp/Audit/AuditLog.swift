import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// Writes audit entries inside the caller's transaction, so an entry exists exactly when its
/// change was committed, each signed into the chain (`AuditChain`) with the keys of the database
/// the transaction runs on (`TransactionScope.auditKeys`).
enum AuditLog {
    static func record(
        action: String, targetKind: String, targetID: String, changes: [String: FieldChange],
        context: ChangeContext, in sql: any SQLDatabase
    ) async throws {
        guard let keys = TransactionScope.auditKeys else {
            // Never an unsigned entry: it would read as tampering, and hide real tampering.
            throw AppError(.internalError, logDetail: "the database has no audit keys (Database.auditKeys is not set)")
        }
        // The entry's place in commit order: the counter row is locked until commit, so the
        // previous entry is committed or ours to read, and no other entry can come between.
        let sequence = try await EventSequence.next(.audit, in: sql)
        var entry = AuditChain.Entry(seq: sequence, id: PublicID.make(.auditEntry), occurredAt: Timestamp.string(from: context.time),
                                     actorID: context.actorID, actorKind: context.actorKind, action: action, targetKind: targetKind, targetID: targetID,
                                     changes: try JSONText.encode(changes), requestID: context.requestID, clientIP: context.clientIP)
        let (keyID, mac) = keys.sign(AuditChain.message(previous: try await AuditChain.previousMAC(before: sequence, in: sql), entry))
        entry = AuditChain.Entry(seq: entry.seq, id: entry.id, occurredAt: entry.occurredAt, actorID: entry.actorID, actorKind: entry.actorKind,
                                 action: entry.action, targetKind: entry.targetKind, targetID: entry.targetID, changes: entry.changes,
                                 requestID: entry.requestID, clientIP: entry.clientIP, mac: mac, macKey: keyID)
        try await sql.insert(into: "audit_log").columns(AuditChain.columns)
            .values(SQLBind(entry.seq), SQLBind(entry.id), SQLBind(entry.occurredAt), SQLBind(entry.actorID), SQLBind(entry.actorKind),
                    SQLBind(entry.action), SQLBind(entry.targetKind), SQLBind(entry.targetID), SQLBind(entry.changes), SQLBind(entry.requestID),
                    SQLBind(entry.clientIP), SQLBind(entry.mac), SQLBind(entry.macKey))
            .run()
    }
}
