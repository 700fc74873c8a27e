import Hummingbird
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `GET /api/admin/alerts` (`admin:system`): every built-in alert with the embedded
/// evaluator's state (inactive, pending, firing), its value and times.
struct AlertsController: Sendable {
    let database: Database

    func register(on routes: SecuredRoutes) {
        routes.get("/api/admin/alerts", .permission(.adminSystem)) { _, _ in try await AlertEvaluator.overview(in: database) }
    }
}

extension AlertOverview: ResponseEncodable {}
