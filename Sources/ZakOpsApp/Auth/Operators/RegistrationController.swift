import Foundation
import HTTPTypes
import Hummingbird
import Logging
import SQLKit
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `POST /api/auth/register`: self-service sign-up, off unless `ALLOW_REGISTRATION=true` (then
/// the route answers 404 as if it did not exist).
///
/// The answer never says whether the address was free: both cases cost one bcrypt hash and one
/// mail and answer 202. A new registrant is a viewer with no access until an admin approves
/// them (`POST /api/admin/users/{id}/enable`, `zakops user enable`); the owner of a taken
/// address is told by mail that someone tried.
struct RegistrationController: Sendable {
    let database: Database
    let mailer: any Mailer
    let hasher: PasswordHasher
    let clock: any AppClock
    let enabled: Bool
    let logger: Logger

    struct RegisterRequest: Decodable {
        let email: String
        let name: String
        let password: String
    }

    struct Accepted: ResponseEncodable {
        let status = "accepted"
        let message = "If the address can be registered, it is now waiting for an administrator's approval. Check your mail."
    }

    func register(on routes: SecuredRoutes) {
        routes.post("/api/auth/register", .publicAuth) { request, context in
            guard enabled else { throw AppError(.notFound) }
            let input = try await request.decodeJSON(as: RegisterRequest.self, context: context)
            try Validate.email(input.email, field: "email")
            let name = try Validate.name(input.name, field: "name", max: 100)
            try Validate.length(input.password, field: "password", max: 1024)
            try PasswordPolicy.validate(input.password, email: input.email, field: "password")
            let hash = try await hasher.hash(input.password)
            let change = ChangeContext(signInBy: nil, requestID: context.requestID, clientIP: context.clientIP, time: clock.now())
            let email = input.email
            try await database.transaction { [mailer] sql in
                if try await OperatorRepository.byEmail(email, in: sql) != nil {
                    try await mailer.send(Mail(to: email, subject: "Someone tried to register your address at ZakOps",
                                               body: "Someone tried to open a ZakOps account with this address, which already has one. If it was you, sign in, or use \"Forgot password\". If it was not you, no action is needed."), in: sql)
                    return
                }
                let id = try await OperatorRepository.insert(email: email, name: name, role: .viewer, passwordHash: hash, mustResetPassword: false,
                                                             now: change.time, active: false, approvalPending: true, in: sql)
                try await mailer.send(Mail(to: email, subject: "Your ZakOps registration is waiting for approval",
                                           body: "Your ZakOps account was created and is waiting for an administrator's approval. You will be told by mail when you can sign in."), in: sql)
                try await AuditLog.record(action: "user.registered", targetKind: "operator", targetID: id,
                                          changes: ["status": FieldChange(before: nil, after: .string(UserAdmin.Status.pending.rawValue))], context: change, in: sql)
                logger.notice("security event", metadata: ["event": "operator_registered", "operator_id": .string(id)])
            }
            return EditedResponse(status: .accepted, response: Accepted())
        }
    }
}
