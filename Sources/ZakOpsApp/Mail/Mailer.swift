import Foundation
import SQLKit
import ZakOpsCore

/// One message to one person.
public struct Mail: Sendable, Equatable {
    public let to: String
    public let subject: String
    public let body: String

    public init(to: String, subject: String, body: String) {
        self.to = to
        self.subject = subject
        self.body = body
    }
}

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

/// Work to do inside a repository's transaction (a mail to queue), after its own statements.
typealias AlsoInTransaction = @Sendable (any SQLDatabase) async throws -> Void

/// Writes each message as an `.eml` file (mode 0600) in a folder (mode 0700).
public struct FileMailer: Mailer {
    public let folder: String

    public init(folder: String) {
        self.folder = folder
    }

    public func send(_ mail: Mail) async throws {
        let manager = FileManager.default
        if !manager.fileExists(atPath: folder) {
            try manager.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let name = Timestamp.now().replacingOccurrences(of: ":", with: "-") + "-" + RandomToken.base32(RandomToken.bytes(5)) + ".eml"
        let text = """
            To: \(Self.header(mail.to))
            Subject: \(Self.header(mail.subject))
            Content-Type: text/plain; charset=utf-8

            \(mail.body)
            """
        let path = (folder as NSString).appendingPathComponent(name)
        guard manager.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw AppError(.internalError, logDetail: "cannot write to the mail folder")
        }
    }

    /// Header values without line breaks (no header injection).
    private static func header(_ value: String) -> String {
        value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
    }
}
