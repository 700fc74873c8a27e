import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import ZakOpsCore
import ZakOpsHTTP
import ZakOpsTestSupport
@testable import ZakOpsApp

/// The console's files as the server sends them: the page never cached, its assets under one
/// fingerprint and cacheable for a year, everything under the same security headers.
@Suite("Console serving", .serverSlot)
struct ConsoleServingTests {
    @Test("/ and /console lead to /console/; the page names its fingerprinted assets and is no-store; assets are immutable under the fingerprint only")
    func serving() async throws {
        try await TestServer.run { server in
            let root = try await server.client.execute(uri: "/", method: .get)
            #expect(root.status == .found && root.headers[.location] == "/console/")
            // Mailed password links land in the console (the #token stays in the browser).
            let link = try await server.client.execute(uri: "/reset-password", method: .get)
            #expect(link.status == .found && link.headers[.location] == "/console/")
            let bare = try await server.client.execute(uri: "/console", method: .get)
            #expect(bare.status == .permanentRedirect && bare.headers[.location] == "/console/")

            // A stale session cookie does not keep a browser from the page.
            let page = try await server.client.execute(uri: "/console/", method: .get, headers: [.cookie: "\(SessionCookieName.value)=stale"])
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == SecurityHeaders.cacheControl)
            #expect(page.headers[.contentSecurityPolicy] == SecurityHeaders.contentSecurityPolicy)
            let fingerprint = server.components.consoleAssets.fingerprint
            #expect(page.text.contains("/console/assets/\(fingerprint)/app.js") && !page.text.contains("{{assets}}"))
            // No inline script or style: the CSP needs no 'unsafe-inline'.
            #expect(!page.text.contains("<script>") && !page.text.contains("<style") && !page.text.contains(" style=") && !page.text.contains(" on"))

            let asset = try await server.client.execute(uri: "/console/assets/\(fingerprint)/app.js", method: .get)
            #expect(asset.status == .ok && asset.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(asset.headers[.cacheControl] == SecurityHeaders.immutableCacheControl)
            #expect(asset.headers[HTTPField.Name("Pragma")!] == nil && asset.headers[SecurityHeaders.immutableMarker] == nil)
            #expect(asset.headers[.contentSecurityPolicy] == SecurityHeaders.contentSecurityPolicy)
            #expect(asset.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")

            for uri in ["/console/assets/0000000000000000/app.js", "/console/assets/\(fingerprint)/missing.js", "/console/assets/\(fingerprint)/..%2Findex.html"] {
                let missing = try await server.client.execute(uri: uri, method: .get)
                #expect(missing.status == .notFound, "\(uri)")
                #expect(missing.errorBody?.error.code == "NOT_FOUND")
                #expect(missing.headers[.cacheControl] == SecurityHeaders.cacheControl)
            }
            // A handler elsewhere cannot make an API answer cacheable by naming the marker in a request.
            let api = try await server.client.execute(uri: "/api/deals", method: .get, headers: [SecurityHeaders.immutableMarker: "1"])
            #expect(api.headers[.cacheControl] == SecurityHeaders.cacheControl)
        }
    }
}
