import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// `/api/admin/service-accounts`: the identities AI agents act under, and their API keys.
struct AdminServiceAccountController: Sendable {
    let service: ServiceAccountService
    let clock: any AppClock

    struct CreateRequest: StrictDecodable {
        let name: String
        let role: Role
        static let knownFields = KnownFields(["name", "role"])
    }

    struct AccountsResponse: ResponseEncodable {
        let serviceAccounts: [ServiceAccountService.Account]
        enum CodingKeys: String, CodingKey { case serviceAccounts = "service_accounts" }
    }

    struct KeysResponse: ResponseEncodable {
        let keys: [ServiceAccountService.Key]
    }

    /// A new key's lifetime in days, at most `API_KEY_MAX_AGE_DAYS` (the default).
    struct KeyRequest: StrictDecodable {
        let expiresInDays: Int?
        enum CodingKeys: String, CodingKey { case expiresInDays = "expires_in_days" }
        static let knownFields = KnownFields(["expires_in_days"])
    }

    struct RotatedKey: ResponseEncodable {
        let id: String
        let key: String
        let replaces: String
        let oldKeyExpiresAt: String
        enum CodingKeys: String, CodingKey {
            case id, key, replaces
            case oldKeyExpiresAt = "old_key_expires_at"
        }
    }


    func register(on routes: SecuredRoutes) {
        routes.post("/api/admin/service-accounts", .permission(.adminUsers)) { request, context in
            let input = try await request.decodeStrictJSON(as: CreateRequest.self, context: context)
            let name = try Validate.name(input.name, field: "name")
            let account = try await service.create(name: name, role: input.role, by: try change(context)) { try .created($0, location: nil) }
            context.logger.notice("security event", metadata: ["event": "service_account_created", "service_account_id": .string(account.id)])
            return try Reply.created(account, location: nil).response
        }
        routes.get("/api/admin/service-accounts", .permission(.adminUsers)) { _, _ in
            AccountsResponse(serviceAccounts: try await service.list())
        }
        routes.post("/api/admin/service-accounts/{id}/keys", .permission(.adminUsers)) { request, context in
            let accountID = try context.parameters.require("id")
            // The body is optional: without one, the key lives the maximum age.
            var lifetime: TimeInterval?
            if request.headers[.contentType] != nil {
                let input = try await request.decodeStrictJSON(as: KeyRequest.self, context: context)
                if let days = input.expiresInDays {
                    guard (1...service.maxKeyAgeDays).contains(days) else {
                        throw AppError.validation(field: "expires_in_days", problem: "must be a whole number from 1 to \(service.maxKeyAgeDays)")
                    }
                    lifetime = TimeInterval(days * 86_400)
                }
            }
            // 256 random bits after the prefix; only the hash is stored, the key is shown once.
            // The minter is recorded: they may not approve what the key proposes.
            let key = BearerKey.mint()
            // A replay gets `key: null`: the key exists only in this answer.
            let id = try await service.addKey(accountID: accountID, keyHash: Digest.sha256Hex(key), lifetime: lifetime, by: try change(context)) { id in
                try .created(ServiceAccountService.MintedKey(id: id, key: nil), location: nil)
            }
            context.logger.notice("security event", metadata: ["event": "api_key_created", "service_account_id": .string(accountID), "key_id": .string(id)])
            return try Reply.created(ServiceAccountService.MintedKey(id: id, key: key), location: nil).response
        }
        routes.get("/api/admin/service-accounts/{id}/keys", .permission(.adminUsers)) { _, context in
            let accountID = try context.parameters.require("id")
            guard try await service.exists(accountID) else { throw AppError(.notFound) }
            return KeysResponse(keys: try await service.keys(accountID: accountID))
        }
        routes.post("/api/admin/service-accounts/{id}/disable", .permission(.adminUsers)) { _, context -> HTTPResponse.Status in
            let accountID = try context.parameters.require("id")
            guard try await service.disable(accountID: accountID, by: try change(context)) else { throw AppError(.notFound) }
            context.logger.notice("security event", metadata: ["event": "service_account_disabled", "service_account_id": .string(accountID)])
            return .noContent
        }
        routes.post("/api/admin/service-accounts/{id}/keys/{key_id}/rotate", .permission(.adminUsers)) { request, context in
            let accountID = try context.parameters.require("id")
            let keyID = try context.parameters.require("key_id")
            let input = try await request.decodeStrictJSON(as: RotationRequest.self, context: context)
            let key = BearerKey.mint()
            guard let (id, oldExpiry) = try await service.rotateKey(accountID: accountID, keyID: keyID, newKeyHash: Digest.sha256Hex(key),
                                                                    grace: try RotationRequest.grace(input.graceHours), by: try change(context))
            else { throw AppError(.notFound) }
            context.logger.notice("security event", metadata: ["event": "api_key_rotated", "service_account_id": .string(accountID), "key_id": .string(id)])
            return EditedResponse(status: .created, response: RotatedKey(id: id, key: key, replaces: keyID, oldKeyExpiresAt: oldExpiry))
        }
        routes.delete("/api/admin/service-accounts/{id}/keys/{key_id}", .permission(.adminUsers)) { _, context -> HTTPResponse.Status in
            let accountID = try context.parameters.require("id")
            let keyID = try context.parameters.require("key_id")
            guard try await service.revokeKey(accountID: accountID, keyID: keyID, by: try change(context)) else { throw AppError(.notFound) }
            context.logger.notice("security event", metadata: ["event": "api_key_revoked", "service_account_id": .string(accountID), "key_id": .string(keyID)])
            return .noContent
        }
    }

    private func change(_ context: AppRequestContext) throws -> ChangeContext {
        ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
    }
}

extension ServiceAccountService.Account: ResponseEncodable {}
extension ServiceAccountService.MintedKey: ResponseEncodable {}
