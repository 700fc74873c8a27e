import Foundation
import SQLKit
import Subprocess
import SystemPackage
import ZakOpsCore
import ZakOpsStore

/// Mail through the outbox: `send` writes a `mail` row; the outbox processor hands it to the
/// configured backend (`MAIL_BACKEND`: `file` or `sendmail`) with retries, backoff and the DLQ,
/// like every delivery. A message accepted here survives a crash.
///
/// The identity flows that notify (password change and reset, MFA, disabling) use
/// `send(_:in:)`: the row is written in the change's own transaction.
public struct OutboxMailer: Mailer {
    public static let consumer = "mail"
    let database: Database
    let clock: any AppClock

    public init(database: Database, clock: any AppClock = SystemClock()) {
        self.database = database
        self.clock = clock
    }

    struct Payload: Codable {
        let to: String
        let subject: String
        let body: String
    }

    public func send(_ mail: Mail) async throws {
        try await database.transaction { sql in try await send(mail, in: sql) }
    }

    public func send(_ mail: Mail, in sql: any SQLDatabase) async throws {
        let payload = try JSONText.encode(Payload(to: mail.to, subject: mail.subject, body: mail.body))
        try await OutboxRepository.enqueue(consumer: Self.consumer, eventType: "mail.notification", payload: payload, at: clock.now(), in: sql)
    }

    static func mail(from row: OutboxRow) throws -> Mail {
        let payload = try JSONDecoder().decode(Payload.self, from: Data(row.payload.utf8))
        return Mail(to: payload.to, subject: payload.subject, body: payload.body)
    }
}
