import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// `POST /api/auth/register`: self-service sign-up, off unless `ALLOW_REGISTRATION=true` (then
/// the route answers 404 as if it did not exist).
///
/// The answer never says whether the address was free: both cases cost one bcrypt hash and one
/// mail and answer 202. A new registrant is a viewer with no access until an admin approves
/// them (`POST /api/admin/users/{id}/enable`, `zakops user enable`); the owner of a taken
/// address is told by mail that someone tried.
struct RegistrationController: Sendable {
    let service: RegistrationService
    let hasher: PasswordHasher
    let clock: any AppClock
    let enabled: Bool

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
            try await service.register(email: input.email, name: name, passwordHash: hash, by: change)
            return EditedResponse(status: .accepted, response: Accepted())
        }
    }
}
