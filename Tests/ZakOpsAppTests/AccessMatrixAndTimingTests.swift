import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsHTTP
import ZakOpsStore
@testable import ZakOpsApp

@Suite("Access matrix and login timing", .serverSlot)
struct AccessMatrixAndTimingTests {
    /// Every route that declares a permission, as registered by the real router.
    static func permissionRoutes(_ settings: Settings) async throws -> [(HTTPRequest.Method, String, Permission)] {
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        return try await Database.withOpened(settings.database, poolSize: 1, deadline: .seconds(5), logger: logger) { database in
            let (router, registry) = try buildRouter(AppComponents(settings: settings, database: database, logger: logger, hasher: TestServer.hasher))
            return router.routes.compactMap { route -> (HTTPRequest.Method, String, Permission)? in
                let path = "/" + route.path.description.drop(while: { $0 == "/" })
                guard route.method != .head, case .permission(let permission) = registry.access(route.method, path) else { return nil }
                return (route.method, path, permission)
            }
        }
    }

    @Test("for every route with a permission, each role lacking it gets 403 and each role holding it gets past authorization")
    func everyRouteEveryRole() async throws {
        try await TestServer.run { server in
            let routes = try await Self.permissionRoutes(server.settings)
            #expect(!routes.isEmpty)
            for role in Role.allCases {
                let session = try await server.login(try await server.createOperator(role: role))
                for (method, template, permission) in routes {
                    var path = template.replacingOccurrences(of: #"\{[a-z_]+\}"#, with: "zz_missing", options: .regularExpression)
                    // The event stream never ends once admitted: a bad filter makes it answer (400)
                    // right after the permission check.
                    if template == "/api/events/stream" { path += "?types=%21" }
                    // The playbooks act for real on `{}`: their dry run passes the same checks.
                    let body = template.hasPrefix("/api/admin/incidents/") ? #"{"dry_run":true}"# : "{}"
                    let status = try await server.client.execute(uri: path, method: method, headers: session.headers(), body: ByteBuffer(string: body)).status
                    if role.permissions.contains(permission) {
                        #expect(status != .forbidden && status != .unauthorized, "\(role) \(method) \(template)")
                    } else {
                        #expect(status == .forbidden, "\(role) \(method) \(template)")
                    }
                }
            }
        }
    }

    @Test("an unknown e-mail costs the same bcrypt work as a wrong password (timing distributions overlap)")
    func timing() async throws {
        // A hasher of its own, so other tests running in parallel do not queue on it; samples
        // alternate, so load on the machine falls on both distributions alike.
        try await TestServer.run(hasher: PasswordHasher(cost: 10, threads: 1, niceness: 0)) { server in
            let account = try await server.createOperator()
            let inactive = try await server.createOperator(active: false)
            func sample(_ email: String) async throws -> Double {
                let start = ContinuousClock.now
                _ = try await server.postLogin(email: email, password: TestServer.password())
                let elapsed = ContinuousClock.now - start
                return Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
            }
            var unknown: [Double] = []
            var wrong: [Double] = []
            var disabled: [Double] = []
            for index in 0..<9 {
                unknown.append(try await sample("nobody-\(index)@example.com"))
                wrong.append(try await sample(account.email))
                disabled.append(try await sample(inactive.email))
            }
            let medianUnknown = unknown.sorted()[4]
            let medianWrong = wrong.sorted()[4]
            let medianDisabled = disabled.sorted()[4]
            #expect(medianDisabled > medianWrong / 3 && medianDisabled < medianWrong * 3)
            // Without the dummy verification an unknown e-mail answers in about a millisecond
            // against tens for a bcrypt check: the medians would differ many times over.
            #expect(medianUnknown > medianWrong / 3)
            #expect(medianUnknown < medianWrong * 3)
            #expect(unknown.min()! < wrong.max()! && wrong.min()! < unknown.max()!, "the ranges overlap")
        }
    }
}
