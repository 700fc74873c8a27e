import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsHTTP

/// `/api/admin/service-accounts`: the identities AI agents act under, and their API keys.
struct AdminServiceAccountController: Sendable {
    let repository: ServiceAccountRepository
    let clock: any AppClock

    struct CreateRequest: Decodable {
        let name: String
        let role: Role
    }

    struct AccountsResponse: ResponseEncodable {
        let serviceAccounts: [ServiceAccountRepository.Account]
        enum CodingKeys: String, CodingKey { case serviceAccounts = "service_accounts" }
    }

    struct KeysResponse: ResponseEncodable {
        let keys: [ServiceAccountRepository.Key]
    }

    struct KeyResponse: ResponseEncodable {
        let id: String
        let key: String
    }

    func register(on routes: SecuredRoutes) {
        routes.post("/api/admin/service-accounts", .permission(.adminUsers)) { request, context in
            let input = try await request.decodeJSON(as: CreateRequest.self, context: context)
            try Validate.length(input.name, field: "name", min: 1, max: 100)
            let account = try await repository.create(name: input.name, role: input.role, now: clock.now())
            context.logger.notice("security event", metadata: ["event": "service_account_created", "service_account_id": .string(account.id)])
            return EditedResponse(status: .created, response: account)
        }
        routes.get("/api/admin/service-accounts", .permission(.adminUsers)) { _, _ in
            AccountsResponse(serviceAccounts: try await repository.list())
        }
        routes.post("/api/admin/service-accounts/{id}/keys", .permission(.adminUsers)) { _, context in
            let accountID = try context.parameters.require("id")
            guard try await repository.exists(accountID) else { throw AppError(.notFound) }
            // 256 random bits after the prefix; only the hash is stored, the key is shown once.
            let key = "zk_" + RandomToken.base32(RandomToken.bytes(32))
            guard let minter = context.principal?.id else { throw AppError(.unauthorized) }
            let id = try await repository.addKey(accountID: accountID, keyHash: Digest.sha256Hex(key), mintedBy: minter, now: clock.now())
            context.logger.notice("security event", metadata: ["event": "api_key_created", "service_account_id": .string(accountID), "key_id": .string(id)])
            return EditedResponse(status: .created, response: KeyResponse(id: id, key: key))
        }
        routes.get("/api/admin/service-accounts/{id}/keys", .permission(.adminUsers)) { _, context in
            let accountID = try context.parameters.require("id")
            guard try await repository.exists(accountID) else { throw AppError(.notFound) }
            return KeysResponse(keys: try await repository.keys(accountID: accountID))
        }
        routes.post("/api/admin/service-accounts/{id}/disable", .permission(.adminUsers)) { _, context -> HTTPResponse.Status in
            let accountID = try context.parameters.require("id")
            guard try await repository.disable(accountID: accountID, now: clock.now()) else { throw AppError(.notFound) }
            context.logger.notice("security event", metadata: ["event": "service_account_disabled", "service_account_id": .string(accountID)])
            return .noContent
        }
        routes.delete("/api/admin/service-accounts/{id}/keys/{key_id}", .permission(.adminUsers)) { _, context -> HTTPResponse.Status in
            let accountID = try context.parameters.require("id")
            let keyID = try context.parameters.require("key_id")
            guard try await repository.revokeKey(accountID: accountID, keyID: keyID, now: clock.now()) else { throw AppError(.notFound) }
            context.logger.notice("security event", metadata: ["event": "api_key_revoked", "service_account_id": .string(accountID), "key_id": .string(keyID)])
            return .noContent
        }
    }
}

extension ServiceAccountRepository.Account: ResponseEncodable {}
