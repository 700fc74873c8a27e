import Foundation
import Logging
import SQLKit
import Testing
import ZakOpsCore
import ZakOpsTestSupport
import ZakOpsStore
@testable import ZakOpsApp

/// Mail goes through the outbox to a sendmail-compatible program (here a script standing in for
/// msmtp or postfix: the only part that would leave the machine).
@Suite("Mail through the outbox", .serverSlot)
struct MailOutboxTests {
    /// A sendmail stand-in: appends its arguments and standard input to a file, exits with `status`.
    static func fakeSendmail(in folder: URL, status: Int32) throws -> (program: String, output: URL) {
        let output = folder.appendingPathComponent("sent.txt")
        let program = folder.appendingPathComponent("sendmail")
        try "#!/bin/sh\necho \"ARGS $*\" >> '\(output.path)'\ncat >> '\(output.path)'\nexit \(status)\n".write(to: program, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: program.path)
        return (program.path, output)
    }

    @Test("a notification is queued, piped to sendmail as an RFC 5322 message, and its content scrubbed once delivered; failures retry")
    func sendmailThroughOutbox() async throws {
        let folder = try TemporaryFolder.make()
        let good = try Self.fakeSendmail(in: folder, status: 0)
        try await TestServer.run(configure: { settings in
            settings.mailBackend = .sendmail
            settings.sendmailPath = good.program
            settings.mailFrom = "ZakOps <no-reply@zakops.example>"
        }) { server in
            let mailer = OutboxMailer(database: server.database, clock: server.clock, keys: server.components.dataKeys)
            try await mailer.send(Mail(to: "ana@example.com\r\nBcc: attacker@evil.example", subject: "Réinitialisation\nX-Injected: yes",
                                       body: "Open https://zakops.example/reset-password#token=SECRET-TOKEN\n.\nend"))
            #expect(try await server.count("outbox") == 1)
            let processor = try AppComponents(settings: server.settings, database: server.database, logger: Logger(label: "test"), clock: server.clock).outboxProcessor
            #expect(try await processor.runOnce() == 1)
            let sent = try String(contentsOf: good.output, encoding: .utf8)
            #expect(sent.hasPrefix("ARGS -t -i\n"))
            #expect(sent.contains("From: ZakOps <no-reply@zakops.example>\r\n"))
            #expect(sent.contains("To: ana@example.com  Bcc: attacker@evil.example\r\n"), "no header injection: one To line")
            #expect(!sent.contains("\r\nBcc:") && !sent.contains("\r\nX-Injected:"))
            #expect(sent.contains("Subject: =?utf-8?b?"))
            #expect(sent.contains("Content-Type: text/plain; charset=utf-8\r\n") && sent.contains("Message-ID: <"))
            #expect(sent.contains("token=SECRET-TOKEN"))
            // Delivered: the row keeps no content (reset links are secrets).
            let payload = try await server.database.read { sql in
                try await sql.select().column("payload").from("outbox").first()?.decode(column: "payload", as: String.self)
            }
            #expect(payload == #"{"redacted":true}"#)
        }

        let bad = try Self.fakeSendmail(in: try TemporaryFolder.make(), status: 75)
        try await TestServer.run(configure: { settings in
            settings.mailBackend = .sendmail
            settings.sendmailPath = bad.program
        }) { server in
            try await OutboxMailer(database: server.database, clock: server.clock, keys: server.components.dataKeys).send(Mail(to: "ana@example.com", subject: "Hello", body: "Hi"))
            let processor = try AppComponents(settings: server.settings, database: server.database, logger: Logger(label: "test"), clock: server.clock).outboxProcessor
            #expect(try await processor.runOnce() == 1)
            let row = try await server.database.read { sql in
                try await sql.select().columns("status", "attempts", "last_error").from("outbox").first()
            }
            #expect(try row?.decode(column: "status", as: String.self) == "pending")
            #expect(try row?.decode(column: "attempts", as: Int.self) == 1)
            #expect(try row?.decode(column: "last_error", as: String.self) == "sendmail exited with status 75")
        }
    }
}
