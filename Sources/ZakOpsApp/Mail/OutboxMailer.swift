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
///
/// The payload is sealed (`DataKeyRing`): mail carries reset and invitation links and personal
/// data, and neither may sit readable in the outbox or the DLQ.
public struct OutboxMailer: Mailer {
    public static let consumer = "mail"
    /// The authenticated context of every sealed mail payload.
    static let sealContext = "outbox:mail"
    let database: Database
    let clock: any AppClock
    let keys: DataKeyRing

    public init(database: Database, clock: any AppClock = SystemClock(), keys: DataKeyRing) {
        self.database = database
        self.clock = clock
        self.keys = keys
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
        let payload = try keys.seal(try JSONText.encode(Payload(to: mail.to, subject: mail.subject, body: mail.body)), context: Self.sealContext)
        try await OutboxRepository.enqueue(consumer: Self.consumer, eventType: "mail.notification", payload: payload, at: clock.now(), in: sql)
    }

    /// The mail a row carries (sealed, or plain if written before payloads were sealed).
    static func mail(from row: OutboxRow, keys: DataKeyRing) throws -> Mail {
        let payload = try JSONDecoder().decode(Payload.self, from: Data(try keys.open(row.payload, context: sealContext).utf8))
        return Mail(to: payload.to, subject: payload.subject, body: payload.body)
    }
}
