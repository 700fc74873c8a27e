import Foundation
import Logging
import ZakOpsCore
import ZakOpsStore

/// The rules of self-registration: one transaction that either tells the owner of a taken
/// address that someone tried, or creates the registrant inactive and waiting for approval —
/// each with one mail, so that both answers cost the same and look the same to the caller.
struct RegistrationService: Sendable {
    let database: Database
    let mailer: any Mailer
    let logger: Logger

    /// Registers `email` with an already computed password hash (checked input only).
    func register(email: String, name: String, passwordHash: String, by change: ChangeContext) async throws {
        try await database.transaction { [mailer, logger] sql in
            if try await OperatorRepository.byEmail(email, in: sql) != nil {
                try await mailer.send(Mail(to: email, subject: "Someone tried to register your address at ZakOps",
                                           body: "Someone tried to open a ZakOps account with this address, which already has one. If it was you, sign in, or use \"Forgot password\". If it was not you, no action is needed."), in: sql)
                return
            }
            let id = try await OperatorRepository.insert(email: email, name: name, role: .viewer, passwordHash: passwordHash, mustResetPassword: false,
                                                         now: change.time, active: false, approvalPending: true, in: sql)
            try await mailer.send(Mail(to: email, subject: "Your ZakOps registration is waiting for approval",
                                       body: "Your ZakOps account was created and is waiting for an administrator's approval. You will be told by mail when you can sign in."), in: sql)
            try await AuditLog.record(action: "user.registered", targetKind: "operator", targetID: id,
                                      changes: ["status": FieldChange(before: nil, after: .string(UserAdmin.Status.pending.rawValue))], context: change, in: sql)
            logger.notice("security event", metadata: ["event": "operator_registered", "operator_id": .string(id)])
        }
    }
}
