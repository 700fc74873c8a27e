import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// `/api/auth/password/reset/*`. The request always answers 202 with the same body, and does
/// the account-dependent work after answering, so neither answer nor timing reveals whether
/// the address has an account. Tokens are 256 random bits, stored hashed, single use, valid 30
/// minutes; a newer request voids older tokens. The link carries the token in the URL fragment,
/// which browsers send to no server and in no Referer.
struct PasswordResetController: Sendable {
    let service: PasswordResetService
    let clock: any AppClock

    struct ResetRequest: Decodable {
        let email: String
    }

    struct ConfirmRequest: Decodable {
        let token: String
        let newPassword: String
        enum CodingKeys: String, CodingKey {
            case token
            case newPassword = "new_password"
        }
    }

    struct Accepted: ResponseEncodable {
        let status = "accepted"
    }

    func register(on routes: SecuredRoutes) {
        routes.post("/api/auth/password/reset/request", .publicAuth) { request, context in
            let input = try await request.decodeJSON(as: ResetRequest.self, context: context)
            try Validate.email(input.email, field: "email")
            let email = input.email
            let requestedAt = clock.now()
            let origin = ChangeContext(signInBy: nil, requestID: context.requestID, clientIP: context.clientIP, time: requestedAt)
            Task.detached { [service] in await service.request(email: email, requestedAt: requestedAt, origin: origin) }
            return EditedResponse(status: .accepted, response: Accepted())
        }
        routes.post("/api/auth/password/reset/confirm", .publicAuth) { request, context -> HTTPResponse.Status in
            let input = try await request.decodeJSON(as: ConfirmRequest.self, context: context)
            try Validate.length(input.token, field: "token", min: 1, max: 128)
            try Validate.length(input.newPassword, field: "new_password", max: 1024)
            try await service.confirm(token: input.token, newPassword: input.newPassword,
                                      origin: ChangeContext(signInBy: nil, requestID: context.requestID, clientIP: context.clientIP, time: clock.now()))
            return .noContent
        }
    }
}
