import Foundation
import Testing
import ZakOpsCore
import ZakOpsTestSupport

@Suite("Key ring reload", .serverSlot)
struct KeyRingReloadTests {
    /// Logs in over a raw socket and returns the session cookie and CSRF token.
    static func login(port: Int, email: String, password: String) async throws -> (cookie: String, csrf: String) {
        let body = #"{"email":"\#(email)","password":"\#(password)"}"#
        let response = try await RawHTTP.send(
            "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)",
            port: port
        )
        let setCookie = try #require(response.header("Set-Cookie"))
        let cookie = String(setCookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1)[1])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
        return (cookie, try #require(json["csrf_token"] as? String))
    }

    static func keyID(_ secret: String) -> String { String(Digest.sha256Hex(secret).prefix(8)) }

    @Test("SIGHUP re-reads the secret files: new tokens use the new key, tokens of the previous key still verify")
    func sighup() async throws {
        let location = try await TestDatabase.fresh()
        let folder = try TemporaryFolder.make()
        let currentFile = folder.appendingPathComponent("current")
        let previousFile = folder.appendingPathComponent("previous")
        let first = TestSecrets.sessionSecret()
        let second = TestSecrets.sessionSecret()
        try first.write(to: currentFile, atomically: true, encoding: .utf8)
        try TestSecrets.sessionSecret().write(to: previousFile, atomically: true, encoding: .utf8)
        let port = try await ZakOpsProcess.freePort()
        let env = [
            "DATABASE_URL": TestDatabase.url(location), "HTTP_PORT": String(port), "PASSWORD_HASH_COST": "10",
            "SESSION_SECRET_FILE": currentFile.path, "SESSION_SECRET_PREVIOUS_FILE": previousFile.path,
        ]
        #expect(try await ZakOpsProcess.run(["migrate"], environment: env).status == 0)
        let password = TestServer.password()
        #expect(try await ZakOpsProcess.run(["user", "create", "--email", "ops@example.com", "--role", "operator"], environment: env, stdin: password + "\n").status == 0)
        let child = try await ZakOpsProcess(["serve"], environment: env, directory: folder)
        try await child.waitUntilListening(port: port)

        let session = try await Self.login(port: port, email: "ops@example.com", password: password)
        #expect(session.csrf.hasPrefix(Self.keyID(first) + "."))

        // Rotate: the new secret becomes current, the old one previous.
        try second.write(to: currentFile, atomically: true, encoding: .utf8)
        try first.write(to: previousFile, atomically: true, encoding: .utf8)
        kill(child.pid, SIGHUP)
        var rotated = false
        for _ in 0..<100 where !rotated {
            let csrf = try await RawHTTP.get("/api/auth/csrf", port: port, headers: ["Cookie": "__Host-zakops_session=\(session.cookie)"])
            rotated = csrf.body.contains("\"\(Self.keyID(second)).")
            if !rotated { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(rotated)
        // The token signed before the rotation still verifies (previous key).
        let revoke = try await RawHTTP.send(
            "POST /api/auth/sessions/revoke-others HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: __Host-zakops_session=\(session.cookie)\r\nX-CSRF-Token: \(session.csrf)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            port: port
        )
        #expect(revoke.status == 204)
        child.terminate()
        #expect(try await child.wait(timeout: .seconds(30)) == 0)
    }
}
