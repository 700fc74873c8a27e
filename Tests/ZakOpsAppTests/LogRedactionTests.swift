import Foundation
import NIOCore
import ZakOpsHTTP
import HTTPTypes
import HummingbirdTesting
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsApp

@Suite("Log redaction end to end", .serverSlot)
struct LogRedactionTests {
    @Test("the request log names the client by a keyed hash or its network (LOG_CLIENT_IP); security events keep the full address")
    func clientAddressInRequestLog() async throws {
        for form in [LogClientIP.hashed, .truncated] {
            try await TestServer.run(configure: { $0.logClientIP = form }) { server in
                _ = try await server.client.execute(uri: "/health/live", method: .get)
                _ = try await server.client.execute(uri: "/api/auth/me", method: .get)
                // A refused login is a security event: it names the full address.
                _ = try await server.postLogin(email: "nobody-\(RandomToken.base32(RandomToken.bytes(4)))@example.com", password: TestServer.password())
                let requests = server.logObjects.filter { $0["msg"] as? String == "request" }
                let names = Set(requests.compactMap { $0["client_ip"] as? String })
                #expect(requests.count >= 3)
                switch form {
                case .hashed:
                    let expected = "ip_" + server.components.keys.current.pseudonym("client-ip", "127.0.0.1")
                    #expect(names == [expected], "one stable pseudonym, never the address")
                    #expect(expected.count == 19)
                case .truncated:
                    #expect(names == ["127.0.0.0/24"])
                case .full:
                    break
                }
                #expect(!requests.contains { ($0["client_ip"] as? String) == "127.0.0.1" })
                let refused = server.securityEvents("login_failed")
                #expect(!refused.isEmpty && refused.allSatisfy { $0["client_ip"] as? String == "127.0.0.1" })
            }
        }
        // The defaults: the full address in development, a pseudonym in production.
        #expect(LogClientIP.standard(production: false) == .full && LogClientIP.standard(production: true) == .hashed)
    }

    @Test("credentials, secrets and e-mail addresses planted in requests and failures never reach the log")
    func plantedSecrets() async throws {
        let token = RandomToken.base32(RandomToken.bytes(24))
        let apiKey = "zk_" + RandomToken.base32(RandomToken.bytes(32))
        let password = "pw" + RandomToken.base32(RandomToken.bytes(12))
        let cookie = RandomToken.base32(RandomToken.bytes(24))
        let csrf = RandomToken.base32(RandomToken.bytes(24))
        let email = "victim." + RandomToken.base32(RandomToken.bytes(4)) + "@example.com"
        let crash = "lookup for \(email) failed with password=\(password) and Bearer \(token)\r\n{\"level\":\"critical\",\"msg\":\"forged\"}"
        let location = try await TestDatabase.fresh()
        try await TestServer.run(location: location, extraRoutes: TestRoutes.installer(crashText: crash)) { server in
            let headers: HTTPFields = [
                .cookie: "__Host-zakops_session=\(cookie)",
                HTTPField.Name("X-CSRF-Token")!: csrf,
                .contentType: "application/json",
            ]
            // A refused API key: the refusal is logged, the key is not.
            var withKey = headers
            withKey[.authorization] = "Bearer \(apiKey)"
            let refused = try await server.client.execute(uri: "/api/test/echo", method: .post, headers: withKey, body: .init(string: "{}")) { $0.status }
            #expect(refused == .unauthorized)
            _ = try await server.client.execute(uri: "/api/test/echo?email=\(email)", method: .post, headers: headers, body: .init(string: #"{"name":"\#(password)","count":1}"#)) { $0.status }
            // Credentials in the query string are refused before any handler; the log keeps names only.
            let inURL = try await server.client.execute(uri: "/api/test/echo?password=\(password)&email=\(email)&token=\(token)", method: .post, headers: headers, body: .init(string: "{}")) { $0.status }
            #expect(inURL == .badRequest)
            _ = try await server.client.execute(uri: "/api/test/crash", method: .get, headers: headers) { $0.status }
            _ = try await server.client.execute(uri: "/no/such/\(email)/route", method: .get, headers: headers) { $0.status }
            var carelessHeaders = headers
            carelessHeaders[HTTPField.Name("X-Api-Key")!] = apiKey
            _ = try await server.client.execute(uri: "/api/test/careless-log", method: .get, headers: carelessHeaders) { $0.status }

            let secrets = [
                "token": token, "api key": apiKey, "password": password, "cookie": cookie, "csrf": csrf,
                "email": email, "session secret": server.settings.sessionSecret!.value,
            ]
            let log = server.log.text
            #expect(TestSecrets.leaks(log, secrets) == [])
            #expect(!log.contains("forged\"}"), "a CR/LF in an error must not start a new log line")

            let lines = server.log.captured
            let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            #expect(objects.allSatisfy { $0["ts"] != nil && $0["level"] != nil && $0["msg"] != nil })
            let requests = objects.filter { $0["msg"] as? String == "request" }
            #expect(requests.count == 6)
            #expect(requests.contains { $0["status"] as? Int == 400 && $0["query_params"] as? String == "password,email,token" })
            // The careless line was written, with every credential replaced.
            let careless = try #require(objects.first { ($0["msg"] as? String)?.hasPrefix("incoming request") == true })
            for key in ["authorization", "cookie", "x-csrf-token", "otp"] {
                #expect(careless[key] as? String == Redactor.redacted, "\(key)")
            }
            #expect((careless["credentials"] as? [String: Any])?["pw"] as? String == Redactor.redacted)
            for line in requests {
                for key in ["method", "route", "status", "duration_ms", "client_ip", "request_id"] {
                    #expect(line[key] != nil, "request log line lacks \(key)")
                }
                #expect((line["route"] as? String)?.contains("?") == false)
            }
            #expect(requests.contains { $0["route"] as? String == "/api/test/echo" && $0["status"] as? Int == 200 })
            #expect(objects.contains { $0["msg"] as? String == "request failed" && $0["error_code"] as? String == "INTERNAL_ERROR" })
        }
    }
}
