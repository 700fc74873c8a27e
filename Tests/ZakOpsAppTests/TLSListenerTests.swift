import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// `zakops serve` with TLS_CERT_FILE and TLS_KEY_FILE, as a process: the TLS listener, its
/// protocol floor, the plain port's redirect, and certificate reload on SIGHUP.
@Suite("HTTPS listener", .serverSlot)
struct TLSListenerTests {
    /// A client trusting only `authority`. `connectTimeout` bounds AsyncHTTPClient's retries of a
    /// failing handshake (it keeps trying until then).
    static func client(trusting authority: TestCertificateAuthority, maximum: TLSVersion? = nil, minimum: TLSVersion? = nil,
                       connectTimeout: TimeAmount = .seconds(10)) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates([try NIOSSLCertificate(bytes: Array(try authority.pem.utf8), format: .pem)])
        if let maximum { tls.maximumTLSVersion = maximum }
        if let minimum { tls.minimumTLSVersion = minimum }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: connectTimeout, read: .seconds(10))
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func get(_ client: HTTPClient, _ url: String) async throws -> HTTPClientResponse {
        try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    }

    /// The error of a request expected to fail, as text.
    static func failure(_ client: HTTPClient, _ url: String) async -> String? {
        do {
            _ = try await get(client, url)
            return nil
        } catch {
            return String(describing: error)
        }
    }

    static func withClient<T>(_ client: HTTPClient, _ body: (HTTPClient) async throws -> T) async throws -> T {
        do {
            let result = try await body(client)
            try await client.shutdown()
            return result
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test("TLS 1.2 and 1.3 are served with HSTS; a TLS 1.1 client is refused; plain HTTP redirects; SIGHUP loads a renewed certificate")
    func httpsListener() async throws {
        let folder = try TemporaryFolder.make()
        let firstCA = try TestCertificateAuthority(commonName: "ZakOps Test CA 1")
        let secondCA = try TestCertificateAuthority(commonName: "ZakOps Test CA 2")
        let files = try firstCA.writeServerFiles(to: folder)
        let httpPort = try await ZakOpsProcess.freePort()
        let httpsPort = try await ZakOpsProcess.freePort()
        let location = try await TestDatabase.fresh()
        // A session secret file too: one SIGHUP reloads both the key ring and the certificate.
        let secretFile = folder.appendingPathComponent("session_secret")
        try TestSecrets.sessionSecret().write(to: secretFile, atomically: true, encoding: .utf8)
        let child = try await ZakOpsProcess(["serve"], environment: [
            "DATABASE_URL": TestDatabase.url(location), "HTTP_PORT": String(httpPort), "HTTPS_PORT": String(httpsPort),
            "TLS_CERT_FILE": files.certificate.path, "TLS_KEY_FILE": files.key.path,
            "PUBLIC_BASE_URL": "https://localhost:\(httpsPort)", "HEALTH_ON_HTTP": "true", "SESSION_SECRET_FILE": secretFile.path,
        ], directory: folder)
        try await child.waitUntilListening(port: httpsPort)
        try await child.waitUntilListening(port: httpPort)
        let base = "https://localhost:\(httpsPort)"

        // TLS 1.3 (the client's default) and a client that speaks at most TLS 1.2.
        for maximum in [TLSVersion?.none, .tlsv12] {
            try await Self.withClient(try Self.client(trusting: firstCA, maximum: maximum)) { client in
                let response = try await Self.get(client, base + "/health/ready")
                #expect(response.status.code == 200)
                #expect(response.headers.first(name: "Strict-Transport-Security") == "max-age=31536000; includeSubDomains")
            }
        }
        // A client that speaks at most TLS 1.1 gets no connection: the server answers with a
        // protocol_version alert.
        let old = try await Self.withClient(try Self.client(trusting: firstCA, maximum: .tlsv11, minimum: .tlsv1, connectTimeout: .seconds(2))) { client in
            await Self.failure(client, base + "/health/live")
        }
        #expect(old?.contains("PROTOCOL_VERSION") == true)

        // Plain HTTP: 308 to PUBLIC_BASE_URL with path and query, whatever the Host header says.
        for method in ["GET", "POST"] {
            let redirect = try await RawHTTP.send(
                "\(method) /api/auth/me?view=full HTTP/1.1\r\nHost: evil.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", port: httpPort)
            #expect(redirect.status == 308)
            #expect(redirect.header("Location") == "https://localhost:\(httpsPort)/api/auth/me?view=full")
            #expect(redirect.header("Strict-Transport-Security") != nil)
        }
        // HEALTH_ON_HTTP=true: load balancers may check over plain HTTP.
        #expect(try await RawHTTP.get("/health/live", port: httpPort).status == 200)

        // Renewal: new files from another CA, SIGHUP, and new connections get the new certificate.
        let renewed = try secondCA.writeServerFiles(to: folder)
        #expect(renewed.certificate == files.certificate)
        kill(child.pid, SIGHUP)
        var reloaded = false
        for _ in 0..<100 where !reloaded {
            reloaded = (try? await Self.withClient(try Self.client(trusting: secondCA, connectTimeout: .seconds(2))) { client in
                try await Self.get(client, base + "/health/live").status.code == 200
            }) ?? false
            if !reloaded { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(reloaded, "the renewed certificate is served without a restart")
        // And the old CA's certificate is no longer presented.
        let stale = try await Self.withClient(try Self.client(trusting: firstCA, connectTimeout: .seconds(2))) { client in
            await Self.failure(client, base + "/health/live")
        }
        #expect(stale?.contains("CERTIFICATE_VERIFY_FAILED") == true)
        child.terminate()
        #expect(try await child.wait(timeout: .seconds(30)) == 0)
        #expect(child.stdout.contains("TLS certificate reloaded"))
        #expect(child.stdout.contains("key_ring_reloaded"))
    }

    @Test("preflight: a usable certificate passes, one ending within 14 days warns, an expired or mismatched one fails")
    func preflightCertificateChecks() async throws {
        let folder = try TemporaryFolder.make()
        let authority = try TestCertificateAuthority()
        var settings = Settings()
        func finding(validFor: TimeInterval, notBefore: Date = Date() - 3600) throws -> Preflight.TLSFinding {
            let files = try authority.writeServerFiles(to: folder, validFor: validFor, notBefore: notBefore)
            settings.tlsCertFile = files.certificate.path
            settings.tlsKeyFile = files.key.path
            return TLSCertificates.inspect(settings)
        }
        func status(_ finding: Preflight.TLSFinding) -> PreflightStatus? {
            Preflight.evaluate(settings, database: .unreachable, tls: finding).checks.first { $0.id == "tls_certificate" }?.status
        }
        #expect(status(try finding(validFor: 90 * 86_400)) == .pass)
        #expect(status(try finding(validFor: 10 * 86_400)) == .warn)
        #expect(status(try finding(validFor: -86_400, notBefore: Date() - 10 * 86_400)) == .fail)
        // A key that is not the certificate's.
        let other = try authority.serverCertificate()
        try other.keyPEM.write(to: folder.appendingPathComponent("server.key"), atomically: true, encoding: .utf8)
        if case .unusable = TLSCertificates.inspect(settings) {} else { Issue.record("a mismatched key must be unusable") }
        #expect(status(TLSCertificates.inspect(settings)) == .fail)
        // With usable TLS files the HTTPS check passes without a proxy.
        let usable = try finding(validFor: 90 * 86_400)
        #expect(Preflight.evaluate(settings, database: .unreachable, tls: usable).checks.first { $0.id == "https" }?.status == .pass)
    }
}
