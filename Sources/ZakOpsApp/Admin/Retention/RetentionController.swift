import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// `GET /api/admin/retention` (`admin:system`): the policy in days per kind and the last run.
struct RetentionController: Sendable {
    let retention: RetentionService

    func register(on routes: SecuredRoutes) {
        routes.get("/api/admin/retention", .permission(.adminSystem)) { _, _ in try await retention.status() }
    }
}

extension RetentionService.Status: ResponseEncodable {}
