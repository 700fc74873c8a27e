import Foundation
import HTTPTypes
import Hummingbird
import ZakOpsCore
import ZakOpsStore
import ZakOpsHTTP

/// `/api/actions`: propose (agents and operators), read, approve and reject (humans only).
struct ActionsController: Sendable {
    let service: ActionService
    let clock: any AppClock

    struct ListResponse: ResponseEncodable {
        let actions: [ActionResponse]
        let nextCursor: String?
        enum CodingKeys: String, CodingKey {
            case actions
            case nextCursor = "next_cursor"
        }
    }

    struct RejectRequest: StrictDecodable {
        let reason: String
        static let knownFields = KnownFields(["reason"])
    }

    /// The answer to a proposal, live and replayed.
    static func created(_ action: Action) throws -> Reply {
        try .created(ActionResponse(action), location: "/api/actions/\(action.id)")
    }

    func register(on routes: SecuredRoutes) {
        routes.post("/api/actions", .permission(.actionsPropose)) { request, context in
            let principal = try context.requirePrincipal()
            let proposal = try await request.decodeStrictJSON(as: ActionService.Proposal.self, context: context)
            let action = try await service.propose(proposal, by: ChangeContext(principal: principal, request: context, time: clock.now()), reply: Self.created)
            return try Self.created(action).response
        }
        routes.get("/api/actions", .permission(.actionsRead)) { request, _ in try await list(request) }
        routes.get("/api/actions/{id}", .permission(.actionsRead)) { _, context in ActionResponse(try await service.get(try Self.id(context))) }
        routes.post("/api/actions/{id}/approve", .permission(.actionsApprove)) { _, context in
            try await decide(context, approve: true, reason: nil)
        }
        routes.post("/api/actions/{id}/reject", .permission(.actionsApprove)) { request, context in
            let input = try await request.decodeStrictJSON(as: RejectRequest.self, context: context)
            let reason = try Validate.name(input.reason, field: "reason")
            return try await decide(context, approve: false, reason: reason)
        }
    }

    private func decide(_ context: AppRequestContext, approve: Bool, reason: String?) async throws -> ActionResponse {
        let principal = try context.requirePrincipal()
        // The approver is the authenticated human, never a field of the request.
        guard principal.kind == .user else { throw AppError(.forbidden) }
        let action = try await service.decide(try Self.id(context), approve: approve, reason: reason, by: principal,
                                              context: ChangeContext(principal: principal, request: context, time: clock.now()))
        return ActionResponse(action)
    }

    private func list(_ request: Request) async throws -> ListResponse {
        let query = request.uri.queryParameters
        var status = try query["status"].map { value in
            guard let status = ActionStatus(rawValue: String(value)) else { throw AppError.validation(field: "status", problem: "must be an action status") }
            return status
        }
        switch query["pending"] {
        case nil, "false": break
        case "true": status = .pendingApproval
        default: throw AppError.validation(field: "pending", problem: "must be true or false")
        }
        let dealID = try query["deal_id"].map { value in
            let id = String(value)
            guard ListQuery.isPublicID(id, prefix: "DEAL-") else {
                throw AppError.validation(field: "deal_id", problem: "must be a deal id")
            }
            return id
        }
        let page = try await service.list(status: status, dealID: dealID, limit: try ListQuery.limit(request), after: try ListQuery.cursor(request))
        return ListResponse(actions: page.items.map(ActionResponse.init), nextCursor: page.next.map { ListQuery.encodeCursor(sequence: $0) })
    }

    static func id(_ context: AppRequestContext) throws -> String {
        try ListQuery.pathID(context, prefix: "ACT-")
    }
}
