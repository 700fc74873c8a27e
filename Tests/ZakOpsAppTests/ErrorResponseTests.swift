import Foundation
import NIOCore
import ZakOpsHTTP
import HTTPTypes
import HummingbirdTesting
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsApp

@Suite("Sanitized errors", .serverSlot)
struct ErrorResponseTests {
    @Test("404 and 405 are JSON with fixed messages; 405 names the allowed methods")
    func notFoundAndMethod() async throws {
        try await TestServer.run { server in
            try await server.client.execute(uri: "/api/no-such-resource/DEAL-XYZ", method: .get) { response in
                #expect(response.status == .notFound)
                let body = try #require(response.errorBody)
                #expect(body.error.code == "NOT_FOUND")
                #expect(body.error.message == ErrorCode.notFound.message)
                #expect(body.error.requestID == response.headers[HTTPField.Name("X-Request-ID")!])
            }
            try await server.client.execute(uri: "/health/ready", method: .put) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.errorBody?.error.code == "METHOD_NOT_ALLOWED")
                #expect(response.headers[.allow] == "GET, HEAD, OPTIONS")
            }
        }
    }

    @Test("malformed JSON is 400 and does not echo the input; a wrong field is named")
    func malformed() async throws {
        let marker = "zzmarker" + RandomToken.base32(RandomToken.bytes(6))
        try await TestServer.run { server in
            let json: HTTPFields = [.contentType: "application/json"]
            try await server.client.execute(uri: "/api/test/echo", method: .post, headers: json, body: .init(string: "{\"name\": \"\(marker)\", ")) { response in
                #expect(response.status == .badRequest)
                #expect(response.errorBody?.error.code == "MALFORMED_JSON")
                #expect(!response.text.contains(marker))
            }
            try await server.client.execute(uri: "/api/test/echo", method: .post, headers: json, body: .init(string: "{\"name\": \"\(marker)\", \"count\": \"\(marker)\"}")) { response in
                #expect(response.status == .badRequest)
                let body = try #require(response.errorBody)
                #expect(body.error.code == "VALIDATION_ERROR")
                #expect(body.error.field == "count")
                #expect(body.error.detail == "must be a whole number")
                #expect(!response.text.contains(marker))
            }
            // A dictionary key is the client's own text: the error names the field, not the key.
            try await server.client.execute(uri: "/api/test/echo", method: .post, headers: json, body: .init(string: "{\"name\": \"x\", \"count\": 1, \"labels\": {\"\(marker)\": \"one\"}}")) { response in
                #expect(response.status == .badRequest)
                #expect(response.errorBody?.error.field == "labels.*")
                #expect(!response.text.contains(marker))
            }
            try await server.client.execute(uri: "/api/test/echo", method: .post, headers: json, body: .init(string: "{\"count\": 1}")) { response in
                #expect(response.errorBody?.error.field == "name")
                #expect(response.errorBody?.error.detail == "is required")
            }
            try await server.client.execute(uri: "/api/test/echo", method: .post, headers: [.contentType: "text/plain"], body: .init(string: "{}")) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            try await server.client.execute(uri: "/api/test/echo", method: .post, headers: json, body: .init(string: "{\"name\":\"ok\",\"count\":2}")) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("a body over the limit is 413, with or without Content-Length, and the handler never runs")
    func tooLarge() async throws {
        try await TestServer.run { server in
            let big = "{\"name\":\"" + String(repeating: "a", count: 1_048_600) + "\",\"count\":1}"
            try await server.client.execute(uri: "/api/test/echo", method: .post, headers: [.contentType: "application/json"], body: .init(string: big)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.errorBody?.error.code == "PAYLOAD_TOO_LARGE")
            }
            // Chunked: no Content-Length, so the limit is enforced while the body is read.
            let port = server.port
            let chunk = String(repeating: "a", count: 65536)
            var request = "POST /api/test/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            for _ in 0..<20 { request += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n" }
            request += "0\r\n\r\n"
            let response = try await RawHTTP.send(request, port: port)
            #expect(response.status == 413)
            // The server may reset the connection while the client is still sending the rest of
            // the body; the head (status) always arrives, the body only when the reset does not.
            #expect(response.body.isEmpty || response.body.contains("PAYLOAD_TOO_LARGE"))
        }
    }

    @Test("an unexpected error is a generic 500 that leaks nothing; DEBUG adds nothing to the body")
    func internalErrors() async throws {
        for debug in [false, true] {
            try await TestServer.run(configure: { $0.debug = debug }) { server in
                try await server.client.execute(uri: "/api/test/crash", method: .get) { response in
                    #expect(response.status == .internalServerError)
                    let body = try #require(response.errorBody)
                    #expect(body.error.code == "INTERNAL_ERROR")
                    #expect(body.error.message == "An internal error occurred.")
                    #expect(body.error.field == nil && body.error.detail == nil)
                    #expect(Leakage.inErrorBody(response.text) == [])
                }
            }
        }
    }

    @Test("request ids are opaque, unique and not UUIDs")
    func requestIDs() async throws {
        try await TestServer.run { server in
            var seen = Set<String>()
            for _ in 0..<20 {
                let id = try await server.client.execute(uri: "/health/live", method: .get) { response in
                    try #require(response.headers[HTTPField.Name("X-Request-ID")!])
                }
                #expect(id.wholeMatch(of: /req_[a-z2-7]{26}/) != nil)
                #expect(!id.contains(Leakage.uuid))
                seen.insert(id)
            }
            #expect(seen.count == 20)
        }
    }
}
