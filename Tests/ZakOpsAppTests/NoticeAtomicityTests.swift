import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore
@testable import ZakOpsApp

/// An identity change and the mail that tells of it are one transaction: when the outbox row
/// cannot be written, the change is not made either (and the other way round, nothing is sent
/// for a change that did not happen). Forced by a trigger that refuses outbox inserts.
@Suite("Identity changes and their notices commit together", .serverSlot)
struct NoticeAtomicityTests {
    /// Makes every INSERT into the outbox fail until `allowOutbox` runs.
    static func refuseOutbox(_ server: TestServer) async throws {
        try await server.database.transaction { sql in
            switch TestDatabase.backend {
            case .sqlite:
                try await sql.raw("CREATE TRIGGER test_refuse_outbox BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox refused by the test'); END").run()
            case .postgres:
                try await sql.raw("CREATE FUNCTION test_refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'outbox refused by the test'; END $$").run()
                try await sql.raw("CREATE TRIGGER test_refuse_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION test_refuse_outbox()").run()
            }
        }
    }

    static func allowOutbox(_ server: TestServer) async throws {
        try await server.database.transaction { sql in
            switch TestDatabase.backend {
            case .sqlite: try await sql.raw("DROP TRIGGER test_refuse_outbox").run()
            case .postgres: try await sql.raw("DROP TRIGGER test_refuse_outbox ON outbox").run()
            }
        }
    }

    static func passwordHash(_ server: TestServer, _ id: String) async throws -> String? {
        try await server.database.read { sql in
            try await sql.select().column("password_hash").from("operators").where("id", .equal, SQLBind(id)).first()?.decode(column: "password_hash", as: String.self)
        }
    }

    @Test("a password change whose notice cannot be queued changes nothing: same hash, other sessions alive")
    func passwordChange() async throws {
        try await TestServer.run(mailThroughOutbox: true) { server in
            let account = try await server.createOperator()
            let laptop = try await server.login(account)
            let phone = try await server.login(account)
            let hashBefore = try await Self.passwordHash(server, account.id)
            let body = try JSONSerialization.data(withJSONObject: ["current_password": account.password, "new_password": TestServer.password()])

            try await Self.refuseOutbox(server)
            let refused = try await server.client.execute(uri: "/api/auth/password/change", method: .post, headers: laptop.headers(), body: ByteBuffer(bytes: body))
            #expect(refused.status == .internalServerError)
            #expect(try await Self.passwordHash(server, account.id) == hashBefore)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: phone.cookieOnly).status == .ok)
            #expect(try await server.count("outbox") == 0)

            try await Self.allowOutbox(server)
            let changed = try await server.client.execute(uri: "/api/auth/password/change", method: .post, headers: laptop.headers(), body: ByteBuffer(bytes: body))
            #expect(changed.status == .noContent)
            #expect(try await Self.passwordHash(server, account.id) != hashBefore)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: phone.cookieOnly).status == .unauthorized)
            #expect(try await server.count("outbox") == 1)
        }
    }

    @Test("a password reset whose notice cannot be queued keeps the old password, the sessions and a usable token")
    func passwordReset() async throws {
        try await TestServer.run(mailThroughOutbox: true) { server in
            let account = try await server.createOperator()
            let session = try await server.login(account)
            let hashBefore = try await Self.passwordHash(server, account.id)
            // A token as the reset request stores it (the link itself is in the mail).
            let token = Base64URL.encode(Data(RandomToken.bytes(32)))
            let resets = PasswordResetService(database: server.database, hasher: TestServer.hasher, mailer: FileMailer(folder: server.mailFolder.path),
                                              clock: server.clock, backoff: LoginBackoff(database: server.database, clock: server.clock, enabled: false),
                                              credentials: server.components.credentials,
                                              publicBaseURL: "http://127.0.0.1", logger: Logger(label: "test"))
            #expect(try await resets.replaceToken(operatorID: account.id, tokenHash: Digest.sha256Hex(token), requestedAt: server.clock.now(), link: nil))
            let body = try JSONSerialization.data(withJSONObject: ["token": token, "new_password": TestServer.password()])
            let headers: HTTPFields = [.contentType: "application/json"]

            try await Self.refuseOutbox(server)
            let refused = try await server.client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(refused.status == .internalServerError)
            #expect(try await Self.passwordHash(server, account.id) == hashBefore)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .ok)

            try await Self.allowOutbox(server)
            let reset = try await server.client.execute(uri: "/api/auth/password/reset/confirm", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(reset.status == .noContent, "the token was not used up by the refused attempt")
            #expect(try await Self.passwordHash(server, account.id) != hashBefore)
            #expect(try await server.client.execute(uri: "/api/auth/me", method: .get, headers: session.cookieOnly).status == .unauthorized)
            #expect(try await server.count("outbox") == 1)
        }
    }
}
