import Foundation
import HTTPTypes
import Hummingbird
import ZakOpsCore
import ZakOpsStore
import ZakOpsHTTP

/// `/api/deals`: create, read, list, and move deals through the pipeline.
struct DealsController: Sendable {
    let service: DealService
    let clock: any AppClock

    struct TimelineResponse: ResponseEncodable {
        let events: [EventLog.Entry]
    }

    struct TransitionsResponse: ResponseEncodable {
        let stage: String
        let validNextStages: [String]
        enum CodingKeys: String, CodingKey {
            case stage
            case validNextStages = "valid_next_stages"
        }
    }

    func register(on routes: SecuredRoutes) {
        routes.post("/api/deals", .permission(.dealsWrite)) { request, context in try await create(request, context) }
        routes.get("/api/deals", .permission(.dealsRead)) { request, _ in try await list(request) }
        routes.get("/api/deals/{id}", .permission(.dealsRead)) { _, context in
            let deal = try await service.get(try Self.id(context))
            var response = JSONResponse.make(DealJSON.render(deal))
            response.headers[.eTag] = "\"\(deal.version)\""
            return response
        }
        routes.on("/api/deals/{id}", method: .patch, .permission(.dealsWrite)) { request, context in try await update(request, context) }
        routes.delete("/api/deals/{id}", .permission(.dealsDelete)) { _, context -> HTTPResponse.Status in
            let principal = try context.requirePrincipal()
            try await service.delete(try Self.id(context), by: ChangeContext(principal: principal, request: context, time: clock.now()))
            return .noContent
        }
        routes.post("/api/deals/{id}/transition", .permission(.dealsWrite)) { request, context in try await transition(request, context) }
        routes.get("/api/deals/{id}/events", .permission(.dealsRead)) { _, context in
            TimelineResponse(events: try await service.timeline(try Self.id(context)))
        }
        routes.get("/api/deals/{id}/transitions", .permission(.dealsRead)) { _, context in
            let deal = try await service.get(try Self.id(context))
            return TransitionsResponse(stage: deal.stage.rawValue, validNextStages: deal.stage.next.map(\.rawValue))
        }
    }

    private func create(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let input = try await request.decodeStrictJSON(as: CreateDealRequest.self, context: context)
        let deal = try await service.create(input, by: ChangeContext(principal: principal, request: context, time: clock.now()), reply: Self.created)
        return Self.created(deal).response
    }

    /// The answer to a creation, live and replayed.
    static func created(_ deal: Deal) -> Reply {
        .created(json: DealJSON.render(deal), location: "/api/deals/\(deal.id)")
    }

    private func update(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard let header = request.headers[.ifMatch] else { throw AppError(.preconditionRequired) }
        let text = header.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "W/", with: "")
        guard let expected = Int(text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))), expected > 0 else {
            throw AppError(.preconditionFailed)
        }
        let input = try await request.decodeStrictJSON(as: UpdateDealRequest.self, context: context)
        let deal = try await service.update(try Self.id(context), input, expectedVersion: expected,
                                            by: ChangeContext(principal: principal, request: context, time: clock.now()))
        var response = JSONResponse.make(DealJSON.render(deal))
        response.headers[.eTag] = "\"\(deal.version)\""
        return response
    }

    private func transition(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let input = try await request.decodeStrictJSON(as: TransitionRequest.self, context: context)
        let deal = try await service.transition(try Self.id(context), to: input.toStage, reason: input.reason,
                                                by: ChangeContext(principal: principal, request: context, time: clock.now()))
        return JSONResponse.make(DealJSON.render(deal))
    }

    private func list(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let stage = try query["stage"].map { value in
            guard let stage = DealStage(rawValue: String(value)) else { throw AppError.validation(field: "stage", problem: "must be a deal stage") }
            return stage
        }
        let status = try query["status"].map { value in
            guard let status = DealStatus(rawValue: String(value)) else { throw AppError.validation(field: "status", problem: "must be a deal status") }
            return status
        }
        let limit = try ListQuery.limit(request)
        let text = try QueryText.search(request, "q")
        let cursor = try ListQuery.cursor(request)
        let page = try await service.list(stage: stage, status: status, text: text, after: cursor, limit: limit)
        return JSONResponse.make(DealJSON.renderPage(page.items, nextCursor: page.next.map { ListQuery.encodeCursor(sequence: $0) }))
    }

    static func id(_ context: AppRequestContext) throws -> String {
        try ListQuery.pathID(context, prefix: "DEAL-")
    }

}
