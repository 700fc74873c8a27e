import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore
@testable import ZakOpsApp

@Suite("zakops user and the development administrator", .serverSlot)
struct UserCommandTests {
    @Test("user create reads the password from standard input and enforces the rules; the password never appears in output")
    func create() async throws {
        let location = try await TestDatabase.fresh()
        let env = ["DATABASE_URL": TestDatabase.url(location), "PASSWORD_HASH_COST": "10"]
        #expect(try await ZakOpsProcess.run(["migrate"], environment: env).status == 0)
        let password = TestServer.password()
        let created = try await ZakOpsProcess.run(["user", "create", "--email", "boss@example.com", "--role", "admin"], environment: env, stdin: password + "\n")
        #expect(created.status == 0)
        #expect(created.stdout.hasPrefix("op_"))
        #expect(TestSecrets.leaks(created.stdout + created.stderr, ["password": password]) == [])

        let weak = try await ZakOpsProcess.run(["user", "create", "--email", "b@example.com", "--role", "viewer"], environment: env, stdin: "short\n")
        #expect(weak.status != 0)
        #expect(weak.stderr.contains("password must be at least 12 characters"))
        // There is no way to pass the password as an argument.
        let asArgument = try await ZakOpsProcess.run(["user", "create", "--email", "c@example.com", "--role", "viewer", "--password", password], environment: env)
        #expect(asArgument.status != 0)

        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let roles = try await Database.withOpened(location, poolSize: 1, deadline: .seconds(5), logger: logger) { database in
            try await database.read { sql in
                try await sql.select().columns("email", "role").from("operators").all().map { try $0.decode(column: "role", as: String.self) }
            }
        }
        #expect(roles == ["admin"])
    }

    @Test("user disable ends the user's sessions, a cached one within AUTH_CACHE_SECONDS")
    func disable() async throws {
        try await TestServer.run { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            // Used, so the server holds it in its cache when another process disables the user.
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)
            let result = try await ZakOpsProcess.run(["user", "disable", "--email", account.email], environment: ["DATABASE_URL": TestDatabase.url(locationOf(server)), "MAIL_DIR": server.mailFolder.path])
            #expect(result.status == 0)
            #expect(try await server.refusal(of: session, within: .seconds(1) + LoginAndSessionTests.slack) != nil)
            // The notice waits in the outbox; a processor delivers it to the mailbox.
            #expect(try server.mails().isEmpty)
            var settings = server.settings
            settings.mailDirectory = server.mailFolder.path
            let processor = try AppComponents(settings: settings, database: server.database, logger: Logger(label: "test"), clock: server.clock).outboxProcessor
            server.clock.advance(by: 60)  // the command stamped the row with the real clock
            #expect(try await processor.runOnce() == 1)
            #expect(try server.mails().contains { $0.contains("Subject: Your ZakOps account was disabled") })
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
            #expect(try await server.postLogin(email: account.email, password: account.password).status == .unauthorized)
        }
    }

    private func locationOf(_ server: TestServer) -> DatabaseLocation { server.settings.database }

    @Test("a development serve on an empty database creates admin@localhost, shows the password on the terminal only, and requires a change")
    func developmentAdmin() async throws {
        let folder = try TemporaryFolder.make()
        let port = try await ZakOpsProcess.freePort()
        let child = try await ZakOpsProcess(["serve"], environment: ["HTTP_PORT": String(port), "PASSWORD_HASH_COST": "10"], directory: folder)
        try await child.waitUntilListening(port: port)
        child.terminate()
        #expect(try await child.wait(timeout: .seconds(30)) == 0)
        let stderr = child.stderr
        let password = try #require(stderr.split(separator: "\n").first { $0.contains("password:") }?.split(separator: " ").last.map(String.init))
        #expect(stderr.contains("admin@localhost"))
        #expect(TestSecrets.leaks(child.stdout, ["password": password]) == [])

        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let location = DatabaseLocation.sqlite(path: folder.appendingPathComponent("data/zakops.sqlite").path)
        let mustReset = try await Database.withOpened(location, poolSize: 1, deadline: .seconds(5), logger: logger) { database in
            try await database.read { sql in
                try await sql.select().column("must_reset_password").from("operators").first()?.decode(column: "must_reset_password", as: Bool.self)
            }
        }
        #expect(mustReset == true)
    }
}
