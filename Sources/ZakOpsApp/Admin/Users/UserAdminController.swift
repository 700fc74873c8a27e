import Foundation
import HTTPTypes
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// `/api/admin/users*` (`admin:users`): `UserAdmin` over HTTP.
struct UserAdminController: Sendable {
    let admin: UserAdmin
    let clock: any AppClock

    struct InviteRequest: StrictDecodable {
        let email: String
        let name: String
        let role: Role
        static let knownFields = KnownFields(["email", "name", "role"])
    }

    struct UpdateRequest: StrictDecodable {
        let role: Role?
        let name: String?
        static let knownFields = KnownFields(["role", "name"])
    }

    struct CountResponse: ResponseEncodable {
        let count: Int
    }

    func register(on routes: SecuredRoutes) {
        routes.get("/api/admin/users", .permission(.adminUsers)) { request, _ in
            let query = request.uri.queryParameters
            let role = try query["role"].map { value in
                guard let role = Role(rawValue: String(value)) else { throw AppError.validation(field: "role", problem: "must be admin, operator or viewer") }
                return role
            }
            let status = try query["status"].map { value in
                guard let status = UserAdmin.Status(rawValue: String(value)) else {
                    throw AppError.validation(field: "status", problem: "must be active, disabled, pending or erased")
                }
                return status
            }
            return try await admin.list(role: role, status: status, limit: try ListQuery.limit(request), cursor: query["cursor"].map(String.init))
        }
        routes.post("/api/admin/users", .permission(.adminUsers)) { request, context in
            let input = try await request.decodeStrictJSON(as: InviteRequest.self, context: context)
            let user = try await admin.invite(email: input.email, name: input.name, role: input.role, by: try change(context))
            return try Reply.created(user, location: "/api/admin/users/\(user.id)").response
        }
        routes.get("/api/admin/users/{id}", .permission(.adminUsers)) { _, context in
            try await admin.user(try Self.id(context))
        }
        routes.on("/api/admin/users/{id}", method: .patch, .permission(.adminUsers)) { request, context in
            let input = try await request.decodeStrictJSON(as: UpdateRequest.self, context: context)
            guard input.role != nil || input.name != nil else { throw AppError.validation(field: "role", problem: "or name must be given") }
            return try await admin.update(try Self.id(context), role: input.role, name: input.name, by: try change(context))
        }
        routes.post("/api/admin/users/{id}/disable", .permission(.adminUsers)) { _, context in
            try await admin.disable(try Self.id(context), by: try change(context))
        }
        routes.post("/api/admin/users/{id}/enable", .permission(.adminUsers)) { _, context in
            try await admin.enable(try Self.id(context), by: try change(context))
        }
        routes.post("/api/admin/users/{id}/force-reset", .permission(.adminUsers)) { _, context in
            try await admin.forceReset(try Self.id(context), by: try change(context))
        }
        routes.post("/api/admin/users/{id}/sessions/revoke", .permission(.adminUsers)) { _, context in
            CountResponse(count: try await admin.revokeSessions(try Self.id(context), by: try change(context)))
        }
        routes.delete("/api/admin/users/{id}", .permission(.adminUsers)) { _, context in
            try await admin.erase(try Self.id(context), by: try change(context))
        }
    }

    private func change(_ context: AppRequestContext) throws -> ChangeContext {
        ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
    }

    static func id(_ context: AppRequestContext) throws -> String {
        try ListQuery.pathID(context, prefix: PublicID.Kind.operatorAccount.prefix)
    }
}

extension UserAdmin.User: ResponseEncodable {}
extension UserAdmin.Page: ResponseEncodable {}
extension UserAdmin.Outcome: ResponseEncodable {}
