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
    let repository: IdentityRepository
    let hasher: PasswordHasher
    let mailer: any Mailer
    let clock: any AppClock
    /// A completed reset ends any failed-login delay of the account.
    let backoff: LoginBackoff
    let publicBaseURL: String
    let logger: Logger

    static let lifetime: TimeInterval = 30 * 60

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
            Task.detached { await issue(email: email, requestedAt: requestedAt) }
            return EditedResponse(status: .accepted, response: Accepted())
        }
        routes.post("/api/auth/password/reset/confirm", .publicAuth) { request, context -> HTTPResponse.Status in
            let input = try await request.decodeJSON(as: ConfirmRequest.self, context: context)
            try Validate.length(input.token, field: "token", min: 1, max: 128)
            try Validate.length(input.newPassword, field: "new_password", max: 1024)
            try await confirm(token: input.token, newPassword: input.newPassword)
            return .noContent
        }
    }

    /// Creates a token and mails the link, if the address has an active account.
    private func issue(email: String, requestedAt: Date) async {
        do {
            guard let account = try await repository.operatorByEmail(email), account.isActive else { return }
            let token = Base64URL.encode(Data(RandomToken.bytes(32)))
            let link = Mail(
                to: account.email,
                subject: "Reset your ZakOps password",
                body: "Someone asked to reset the password of your ZakOps account. If it was you, open this link within 30 minutes:\n\n\(publicBaseURL)/reset-password#token=\(token)\n\nIf it was not you, ignore this message; your password has not changed."
            )
            // The token and the mail that carries it are written together.
            guard try await repository.replaceResetToken(
                operatorID: account.id, tokenHash: Digest.sha256Hex(token), now: requestedAt, expiresAt: requestedAt.addingTimeInterval(Self.lifetime),
                also: { [mailer] sql in try await mailer.send(link, in: sql) }
            ) else { return }
            logger.notice("security event", metadata: ["event": "password_reset_requested", "operator_id": .string(account.id)])
        } catch {
            logger.error("password reset could not be issued", metadata: ["error_type": .string(String(describing: type(of: error)))])
        }
    }

    private func confirm(token: String, newPassword: String) async throws {
        let now = clock.now()
        let invalid = AppError.validation(field: "token", problem: "is invalid or has expired")
        let tokenHash = Digest.sha256Hex(token)
        // Check the password rules before using up the token, so a rejected password does not
        // cost the user their link.
        guard let pending = try await repository.resetTokenOperator(tokenHash: tokenHash, now: now),
              let account = try await repository.operatorByID(pending), account.isActive else { throw invalid }
        try PasswordPolicy.validate(newPassword, email: account.email, field: "new_password")
        let hash = try await hasher.hash(newPassword)
        let notice = Mail(
            to: account.email,
            subject: "Your ZakOps password was reset",
            body: "The password of your ZakOps account was reset and every session was signed out. If this was not you, tell your administrator now."
        )
        guard try await repository.completeReset(tokenHash: tokenHash, operatorID: account.id, hash: hash, now: now, also: { [mailer] sql in
            try await mailer.send(notice, in: sql)
        }) else { throw invalid }
        try await backoff.clear(email: account.email)
        logger.notice("security event", metadata: ["event": "password_reset_completed", "operator_id": .string(account.id)])
    }
}
