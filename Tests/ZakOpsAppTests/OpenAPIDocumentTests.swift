import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsHTTP
import ZakOpsStore
@testable import ZakOpsApp

/// The OpenAPI document and the router never drift apart: every route is documented and every
/// documented operation is a route, with the access it really has. (The test command also runs
/// schemathesis against a live server: scripts/contract.sh.)
@Suite("OpenAPI contract", .serverSlot)
struct OpenAPIDocumentTests {
    @Test("GET /openapi.json serves an OpenAPI 3.1 document naming exactly the router's routes, their access and their errors")
    func documentMatchesRouter() async throws {
        let location = try await TestDatabase.fresh()
        let settings = TestServer.settings(database: location)
        let logger = Bootstrap.logger(for: settings, sink: CapturingLogSink())
        try await Database.withOpened(location, poolSize: 1, deadline: .seconds(5), logger: logger) { database in
            let (router, registry) = try buildRouter(AppComponents(settings: settings, database: database, logger: logger, hasher: TestServer.hasher))
            let routed = Set(router.routes.filter { $0.method != .head }.map { route in
                "\(route.method.rawValue) /" + route.path.description.drop(while: { $0 == "/" })
            })
            let app = Application(router: router)
            try await app.test(.router) { client in
                let response = try await client.execute(uri: "/openapi.json", method: .get)
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let document = try #require(try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any])
                #expect(document["openapi"] as? String == "3.1.0")
                let schemes = try #require((document["components"] as? [String: Any])?["securitySchemes"] as? [String: Any])
                #expect(Set(schemes.keys) == ["sessionCookie", "bearerApiKey"])
                let paths = try #require(document["paths"] as? [String: [String: Any]])

                var documented: Set<String> = []
                for (path, item) in paths {
                    for (method, operation) in item where ["get", "post", "put", "patch", "delete"].contains(method) {
                        documented.insert("\(method.uppercased()) \(path)")
                        let operation = try #require(operation as? [String: Any])
                        let responses = try #require(operation["responses"] as? [String: Any])
                        #expect(responses["default"] != nil, "\(method) \(path) documents no default error")
                        let security = operation["security"] as? [[String: Any]]
                        let isPublic = security.map { $0.isEmpty || $0.contains { $0.isEmpty } } ?? false
                        let access = registry.access(HTTPRequest.Method(rawValue: method.uppercased())!, path)
                        if path.hasPrefix("/api") {
                            #expect(isPublic == (access == .publicAuth), "\(method) \(path): documented public \(isPublic), routed \(String(describing: access))")
                        } else {
                            #expect(isPublic, "\(method) \(path) is public")
                        }
                    }
                }
                #expect(routed == documented, "undocumented: \(routed.subtracting(documented).sorted()); not routed: \(documented.subtracting(routed).sorted())")
            }
        }
    }
}
