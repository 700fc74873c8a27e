import Foundation
import NIOCore
import ZakOpsHTTP
import HTTPTypes
import HummingbirdTesting
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsApp

@Suite("Security headers", .serverSlot)
struct SecurityHeadersTests {
    @Test("the six checklist headers are on success, error, 404, 405, 413, 500, HEAD and OPTIONS responses, and no Server header")
    func everyResponse() async throws {
        try await TestServer.run { server in
            let cases: [(String, HTTPRequest.Method, HTTPFields, String?, Int)] = [
                ("/health/live", .get, [:], nil, 200),
                ("/health/live", .head, [:], nil, 200),
                ("/health/live", .options, [:], nil, 204),
                ("/no/such/route", .get, [:], nil, 404),
                ("/health/live", .delete, [:], nil, 405),
                ("/api/anything", .post, [.contentType: "application/json"], String(repeating: "x", count: 1_100_000), 413),
            ]
            for (path, method, headers, body, status) in cases {
                try await server.client.execute(uri: path, method: method, headers: headers, body: body.map { .init(string: $0) }) { response in
                    #expect(response.status.code == status, "\(method) \(path)")
                    #expect(ExpectedHeaders.problems(response.headers) == [], "\(method) \(path)")
                }
            }
        }
    }

    @Test("a 500 carries the headers too")
    func internalError() async throws {
        try await TestServer.run { server in
            try await server.client.execute(uri: "/api/test/crash", method: .get) { response in
                #expect(response.status == .internalServerError)
                #expect(ExpectedHeaders.problems(response.headers) == [])
            }
        }
    }

    @Test("no response is cacheable, not even through //api; X-XSS-Protection is one setting away from 0")
    func cacheAndXSS() async throws {
        try await TestServer.run(configure: { $0.xssProtection = .off }) { server in
            for path in ["/api/nothing", "//api/test/db", "/health/live"] {
                try await server.client.execute(uri: path, method: .get) { response in
                    #expect(response.headers[.cacheControl] == "no-store, max-age=0", "\(path)")
                    #expect(response.headers[HTTPField.Name("Pragma")!] == "no-cache", "\(path)")
                    #expect(response.headers[HTTPField.Name("X-XSS-Protection")!] == "0")
                }
            }
        }
    }
}
