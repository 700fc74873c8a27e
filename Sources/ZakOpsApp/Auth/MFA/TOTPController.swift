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
    let service: TOTPService

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
        routes.post("/api/auth/mfa/totp/setup", .authenticated(allowedWhileResetPending: false)) { request, context in
            let input = try await request.decodeJSON(as: SetupRequest.self, context: context)
            try Validate.length(input.password, field: "password", max: 1024)
            let account = try await service.account(for: try context.requirePrincipal())
            let secret = try await service.begin(account: account, password: input.password)
            let url = TOTP(secret: secret).createAuthenticatorURL(label: account.email, issuer: "ZakOps")
            let manual = URLComponents(string: url)?.queryItems?.first { $0.name == "secret" }?.value ?? ""
            return SetupResponse(secret: manual, otpauthURL: url)
        }
        routes.post("/api/auth/mfa/totp/confirm", .authenticated(allowedWhileResetPending: false)) { request, context -> HTTPResponse.Status in
            let input = try await request.decodeJSON(as: CodeRequest.self, context: context)
            let principal = try context.requirePrincipal()
            try await service.confirm(account: try await service.account(for: principal), code: input.code, keeping: principal.sessionTokenHash,
                                      by: ChangeContext(principal: principal, request: context, time: service.clock.now()))
            return .noContent
        }
        routes.post("/api/auth/mfa/totp/disable", .authenticated(allowedWhileResetPending: false)) { request, context -> HTTPResponse.Status in
            let input = try await request.decodeJSON(as: DisableRequest.self, context: context)
            try Validate.length(input.password, field: "password", max: 1024)
            let principal = try context.requirePrincipal()
            try await service.disable(account: try await service.account(for: principal), password: input.password, code: input.code,
                                      keeping: principal.sessionTokenHash, by: ChangeContext(principal: principal, request: context, time: service.clock.now()))
            return .noContent
        }
    }
}
