import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdOTP
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// `/api/auth/mfa/totp/*`: an operator turns on time-based one-time codes (RFC 6238). Once
/// confirmed, every login needs a valid code that has not been used before.
struct TOTPController: Sendable {
    let repository: IdentityRepository
    let hasher: PasswordHasher
    let mailer: any Mailer
    let clock: any AppClock
    let logger: Logger

    struct SetupResponse: ResponseEncodable {
        let secret: String
        let otpauthURL: String
        enum CodingKeys: String, CodingKey {
            case secret
            case otpauthURL = "otpauth_url"
        }
    }

    struct SetupRequest: Decodable {
        let password: String
    }

    struct CodeRequest: Decodable {
        let code: String
    }

    struct DisableRequest: Decodable {
        let password: String
        let code: String
    }

    func register(on routes: SecuredRoutes) {
        // Setup asks for the password: a borrowed session must not be able to enrol its own
        // authenticator and lock the owner out.
        routes.post("/api/auth/mfa/totp/setup", .authenticated(allowedWhileResetPending: false)) { request, context in
            let input = try await request.decodeJSON(as: SetupRequest.self, context: context)
            try Validate.length(input.password, field: "password", max: 1024)
            let account = try await currentOperator(context)
            guard !account.totpEnabled else { throw AppError(.conflict, logDetail: "TOTP already enabled") }
            let (matches, _) = try await hasher.verify(input.password, against: account.passwordHash)
            guard matches else { throw AppError(.invalidCredentials, field: "password", problem: "is incorrect") }
            let secret = RandomToken.base32(RandomToken.bytes(20))
            try await repository.setTOTP(operatorID: account.id, secret: secret, enabled: false, now: clock.now())
            let url = TOTP(secret: secret).createAuthenticatorURL(label: account.email, issuer: "ZakOps")
            let manual = URLComponents(string: url)?.queryItems?.first { $0.name == "secret" }?.value ?? ""
            return SetupResponse(secret: manual, otpauthURL: url)
        }
        routes.post("/api/auth/mfa/totp/confirm", .authenticated(allowedWhileResetPending: false)) { request, context -> HTTPResponse.Status in
            let input = try await request.decodeJSON(as: CodeRequest.self, context: context)
            let account = try await currentOperator(context)
            guard let secret = account.totpSecret, !account.totpEnabled else { throw AppError(.conflict, logDetail: "no pending TOTP setup") }
            guard try await TOTPVerifier(repository: repository, clock: clock).consume(code: input.code, account: account) == .accepted else {
                throw AppError.validation(field: "code", problem: "is not valid")
            }
            let message = notice(account, "Two-step sign-in was turned on for your ZakOps account.")
            guard try await repository.enableTOTP(operatorID: account.id, secret: secret, now: clock.now(), also: { [mailer] sql in
                try await mailer.send(message, in: sql)
            }) else {
                throw AppError(.conflict, logDetail: "the pending TOTP secret changed")
            }
            logger.notice("security event", metadata: ["event": "mfa_enabled", "operator_id": .string(account.id)])
            return .noContent
        }
        routes.post("/api/auth/mfa/totp/disable", .authenticated(allowedWhileResetPending: false)) { request, context -> HTTPResponse.Status in
            let input = try await request.decodeJSON(as: DisableRequest.self, context: context)
            try Validate.length(input.password, field: "password", max: 1024)
            let account = try await currentOperator(context)
            guard account.totpEnabled else { throw AppError(.conflict, logDetail: "TOTP not enabled") }
            let (matches, _) = try await hasher.verify(input.password, against: account.passwordHash)
            guard matches else { throw AppError(.invalidCredentials, field: "password", problem: "is incorrect") }
            guard try await TOTPVerifier(repository: repository, clock: clock).consume(code: input.code, account: account) == .accepted else {
                throw AppError.validation(field: "code", problem: "is not valid")
            }
            let message = notice(account, "Two-step sign-in was turned off for your ZakOps account. If this was not you, reset your password now.")
            try await repository.setTOTP(operatorID: account.id, secret: nil, enabled: false, now: clock.now(), also: { [mailer] sql in
                try await mailer.send(message, in: sql)
            })
            logger.notice("security event", metadata: ["event": "mfa_disabled", "operator_id": .string(account.id)])
            return .noContent
        }
    }

    private func currentOperator(_ context: AppRequestContext) async throws -> OperatorRecord {
        let principal = try context.requirePrincipal()
        guard principal.kind == .user, let account = try await repository.operatorByID(principal.id) else { throw AppError(.forbidden) }
        return account
    }

    private func notice(_ account: OperatorRecord, _ text: String) -> Mail {
        Mail(to: account.email, subject: "ZakOps two-step sign-in changed", body: text)
    }
}
