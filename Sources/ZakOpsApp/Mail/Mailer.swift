import Foundation
import SQLKit
import ZakOpsCore

/// Sends mail. The server's is `OutboxMailer` (durable, retried); the outbox hands each message
/// to `FileMailer` (development) or `SendmailMailer` (production), as `MAIL_BACKEND` says.
public protocol Mailer: Sendable {
    func send(_ mail: Mail) async throws

    /// Sends `mail` as part of the caller's transaction: the outbox writes its row with `sql`,
    /// so the notice exists exactly when the change it tells of was committed.
    func send(_ mail: Mail, in sql: any SQLDatabase) async throws
}

extension Mailer {
    /// A mailer that does not write to the database (a file or a program) sends at once, inside
    /// the caller's transaction and whether or not it commits: only the outbox can join a
    /// transaction. The server always notifies through `OutboxMailer`; a direct mailer given to
    /// `AppComponents` is for tests that read mail at once.
    public func send(_ mail: Mail, in sql: any SQLDatabase) async throws {
        try await send(mail)
    }
}

