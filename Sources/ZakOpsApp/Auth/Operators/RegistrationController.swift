import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// `POST /api/auth/register`: self-service sign-up as a viewer, off unless
/// `ALLOW_REGISTRATION=true` (then the route answers 404 as if it did not exist).
struct RegistrationController: Sendable {
    let operators: OperatorAdmin
    let hasher: PasswordHasher
    let clock: any AppClock
    let enabled: Bool
    let logger: Logger

    struct RegisterRequest: Decodable {
        let email: String
        let name: String
        let password: String
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
            let id = try await operators.create(email: input.email, name: name, role: .viewer, passwordHash: hash, mustResetPassword: false, now: clock.now())
            logger.notice("security event", metadata: ["event": "operator_registered", "operator_id": .string(id)])
            return EditedResponse(status: .created, response: AuthController.OperatorResponse(id: id, email: input.email, name: name, role: Role.viewer.rawValue))
        }
    }
}
