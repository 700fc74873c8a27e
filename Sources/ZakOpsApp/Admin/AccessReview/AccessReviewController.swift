import Foundation
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// `/api/admin/access-review*` (`admin:users`): `AccessReview` over HTTP.
struct AccessReviewController: Sendable {
    let review: AccessReview
    let clock: any AppClock

    struct DeprovisionRequest: StrictDecodable {
        let apply: Bool?
        static let knownFields = KnownFields(["apply"])
    }

    func register(on routes: SecuredRoutes) {
        routes.get("/api/admin/access-review", .permission(.adminUsers)) { _, _ in
            try await review.report(now: clock.now())
        }
        routes.post("/api/admin/access-review/record", .permission(.adminUsers)) { _, context in
            try await review.record(by: try change(context))
        }
        routes.post("/api/admin/access-review/deprovision", .permission(.adminUsers)) { request, context in
            let input = try await request.decodeStrictJSON(as: DeprovisionRequest.self, context: context)
            return try await review.deprovision(apply: input.apply ?? false, by: try change(context))
        }
    }

    private func change(_ context: AppRequestContext) throws -> ChangeContext {
        ChangeContext(principal: try context.requirePrincipal(), request: context, time: clock.now())
    }
}

extension AccessReview.Report: ResponseEncodable {}
extension AccessReview.Recorded: ResponseEncodable {}
