import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ZakOpsCore
import ZakOpsTestSupport
import NIOCore
import Synchronization
import ZakOpsHTTP
import ZakOpsStore

/// Routes that exist only in tests, to drive the real pipeline: JSON decoding, an unexpected
/// failure, a database round trip and a slow handler.
enum TestRoutes {
    /// Lets `/api/test/slow` finish (only the graceful-shutdown test uses it).
    static let slowReleased = Atomic<Bool>(false)
    /// Set when `/api/test/slow` has started.
    static let slowStarted = Atomic<Bool>(false)

    struct Echo: Codable, ResponseEncodable {
        let name: String
        let count: Int
        let labels: [String: Int]?
    }

    /// An unexpected error whose text is full of what must never reach a client.
    struct LeakyFailure: Error, CustomStringConvertible {
        let description: String
    }

    static let crashText = "failed in /home/app/Sources/ZakOpsStore/Database.swift line 42: connection refused to postgresql://user:pass@db.internal:5432/zakops (id 3f2b8c1e-9d4a-4e57-b1c2-7a8d9e0f1a2b) SELECT * FROM operators"

    /// Installs every test route; `crashText` is the text of the failure `/api/test/crash` throws.
    static func installer(crashText: String = crashText) -> @Sendable (Router<AppRequestContext>, Database) -> Void {
        { router, database in
            router.post("/api/test/echo") { request, context in
                try await request.decodeJSON(as: Echo.self, context: context)
            }
            router.get("/api/test/crash") { _, _ -> HTTPResponse.Status in
                throw LeakyFailure(description: crashText)
            }
            router.get("/api/test/db") { _, _ -> HTTPResponse.Status in
                try await database.ping()
                return .ok
            }
            // Careless code: logs credentials it was handed. The redaction layer must catch it.
            router.get("/api/test/careless-log") { request, context -> HTTPResponse.Status in
                // (An Authorization header would be refused before any handler: the careless code
                // logs a key it found elsewhere.)
                let authorization: String = "Bearer " + (request.headers[HTTPField.Name("X-Api-Key")!] ?? "")
                let cookie: String = request.headers[.cookie] ?? ""
                let csrf: String = request.headers[HTTPField.Name("X-CSRF-Token")!] ?? ""
                var metadata: Logger.Metadata = [:]
                metadata["authorization"] = .string(authorization)
                metadata["cookie"] = .string(cookie)
                metadata["x-csrf-token"] = .string(csrf)
                metadata["otp"] = .stringConvertible(123_456)
                metadata["credentials"] = .dictionary(["user": .string("someone"), "pw": .string(cookie)])
                metadata["note"] = .string("Cookie: " + cookie)
                let message: String = "incoming request " + request.uri.description + " with Authorization: " + authorization
                context.logger.info("\(message)", metadata: metadata)
                return .noContent
            }
            // Runs until the test releases it (at most 30 s), so the test decides what happens
            // while it is in flight, however loaded the machine is.
            router.get("/api/test/slow") { _, _ -> String in
                TestRoutes.slowStarted.store(true, ordering: .releasing)
                let deadline = ContinuousClock.now + .seconds(30)
                while !TestRoutes.slowReleased.load(ordering: .acquiring) && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                return "finished"
            }
        }
    }
}
