import Hummingbird
import Synchronization
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsStore

/// `/health/live`, `/health/ready` and `/health/startup` for load balancers and orchestrators.
/// Bodies say `ok` or name the failing check, nothing more: no versions, hosts or error text.
struct HealthController: Sendable {
    let database: Database
    let migrations: MigrationRunner
    let startup: StartupState

    struct Status: ResponseEncodable {
        let status: String
        let failing: String?
    }

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("health")
        group.get("live") { _, _ in Self.ok() }
        group.get("ready") { _, _ in try await ready() }
        group.get("startup") { _, _ in
            startup.isComplete ? Self.ok() : try Self.failing("startup")
        }
    }

    /// Ready when the database answers and its schema is exactly what this binary expects.
    private func ready() async throws -> Response {
        do {
            try await database.ping()
        } catch {
            return try Self.failing("database")
        }
        guard let state = try? await migrations.state(), state.isUsable else {
            return try Self.failing("migrations")
        }
        return Self.ok()
    }

    private static func ok() -> Response {
        JSONResponse.make(#"{"status":"ok"}"#)
    }

    private static func failing(_ check: String) throws -> Response {
        JSONResponse.make(#"{"status":"unavailable","failing":"\#(check)"}"#, status: .serviceUnavailable)
    }
}
