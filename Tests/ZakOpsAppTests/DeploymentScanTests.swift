import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import ZakOpsCore
import ZakOpsTestSupport
@testable import ZakOpsApp

/// `zakops scan`: every item passes against ZakOps serving TLS itself, and fails, item by item,
/// against a server that gets them wrong. (The cluster phase runs it through nginx, configured
/// as shipped and deliberately misconfigured.)
@Suite("Deployment scan", .serverSlot)
struct DeploymentScanTests {
    @Test("a ZakOps TLS listener passes every item, the session cookie and the rate-limit probe included")
    func passesAgainstZakOps() async throws {
        let folder = try TemporaryFolder.make()
        let authority = try TestCertificateAuthority()
        let files = try authority.writeServerFiles(to: folder)
        let caFile = folder.appendingPathComponent("ca.pem")
        try authority.pem.write(to: caFile, atomically: true, encoding: .utf8)
        let httpPort = try await ZakOpsProcess.freePort()
        let httpsPort = try await ZakOpsProcess.freePort()
        let location = try await TestDatabase.fresh()
        let secret = TestSecrets.sessionSecret()
        let environment = ["DATABASE_URL": TestDatabase.url(location), "SESSION_SECRET": secret, "LOG_LEVEL": "warning"]
        let password = TestServer.password()
        #expect(try await ZakOpsProcess.run(["migrate"], environment: environment).status == 0)
        let created = try await ZakOpsProcess.run(["user", "create", "--email", "scan@example.com", "--role", "viewer"], environment: environment, stdin: password + "\n")
        #expect(created.status == 0, "\(created.stderr)")
        let child = try await ZakOpsProcess(["serve"], environment: environment.merging([
            "HTTP_PORT": String(httpPort), "HTTPS_PORT": String(httpsPort), "TLS_CERT_FILE": files.certificate.path, "TLS_KEY_FILE": files.key.path,
            "PUBLIC_BASE_URL": "https://localhost:\(httpsPort)",
        ]) { _, new in new }, directory: folder)
        try await child.waitUntilListening(port: httpsPort)
        try await child.waitUntilListening(port: httpPort)

        // The command: exit 0 and JSON; the password only on standard input. (Before the probe
        // below, which spends this address's sign-in allowance.)
        let command = try await ZakOpsProcess.run(["scan", "https://localhost:\(httpsPort)", "--ca-file", caFile.path, "--http-url", "http://localhost:\(httpPort)",
                                                   "--credentials", "-", "--json"], environment: [:], stdin: #"{"email":"scan@example.com","password":"\#(password)"}"#)
        #expect(command.status == 0, "\(command.stdout) \(command.stderr)")
        let printed = try JSONDecoder().decode(ScanReport.self, from: Data(command.stdout.utf8))
        #expect(printed.ok && !command.stdout.contains(password))
        let scan = DeploymentScan(base: URL(string: "https://localhost:\(httpsPort)")!, plainURL: URL(string: "http://localhost:\(httpPort)")!,
                                  caFile: caFile.path, credentials: .init(email: "scan@example.com", password: password), probeLimits: true)
        let report = try await scan.run()
        #expect(report.ok, "\(report.text)")
        #expect(!report.findings.contains { $0.status == .skip }, "\(report.text)")
        #expect(report.findings.count == 17)

        // Without the CA the certificate is not trusted: the scan cannot pass.
        let untrusted = try await ZakOpsProcess.run(["scan", "https://localhost:\(httpsPort)"], environment: [:])
        #expect(untrusted.status != 0)
        child.terminate()
        _ = try await child.wait(timeout: .seconds(30))
    }

    @Test("a server that gets the items wrong fails each of them, with the fix")
    func failsAgainstAMisconfiguredServer() async throws {
        // No security headers, a version in Server, HTML errors with a path, CORS reflected,
        // credentials accepted in the query, /metrics public, no rate limit.
        let router = Router()
        router.middlewares.add(LeakyMiddleware())
        router.get("/health/live") { _, _ in "ok" }
        router.get("/api/deals") { request, _ -> Response in
            if request.uri.queryParameters["api_key"] != nil { return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "[]"))) }
            return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "<html>Unauthorized at /Sources/App/Auth.swift:12</html>")))
        }
        router.get("/metrics") { _, _ in "# TYPE zakops_build_info gauge\nzakops_build_info 1\n" }
        router.post("/api/auth/login") { _, _ -> Response in
            Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "Exception: bad credentials")))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let base = URL(string: "http://127.0.0.1:\(client.port!)")!
            let report = try await DeploymentScan(base: base, probeLimits: true).run()
            #expect(!report.ok)
            let failed = Set(report.findings.filter { $0.status == .fail }.map(\.id))
            for id in ["headers_success", "headers_error", "headers_not_found", "https_redirect", "cors", "credential_in_query", "error_body_401",
                       "error_body_404", "error_body_405", "error_body_413", "error_body_400", "metrics_not_public", "server_banner", "auth_rate_limit"] {
                #expect(failed.contains(id), "\(id) did not fail:\n\(report.text)")
            }
            #expect(report.findings.filter { $0.status == .fail }.allSatisfy { $0.fix?.isEmpty == false })
            // TLS cannot be checked over plain HTTP, nor cookies without credentials.
            #expect(report.findings.first { $0.id == "tls_versions" }?.status == .skip)
            #expect(report.findings.first { $0.id == "cookie_attributes" }?.status == .skip)
        }
    }

    /// Reflects any Origin, names its version.
    struct LeakyMiddleware<Context: RequestContext>: RouterMiddleware {
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            var response: Response
            do {
                response = try await next(request, context)
            } catch {
                response = Response(status: (error as? any HTTPResponseError)?.status ?? .internalServerError,
                                    body: .init(byteBuffer: ByteBuffer(string: "<html><center>nginx/1.22.1</center></html>")))
            }
            response.headers[.server] = "nginx/1.22.1"
            if let origin = request.headers[.origin] { response.headers[.accessControlAllowOrigin] = origin }
            return response
        }
    }
}
