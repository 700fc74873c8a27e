import Foundation
import SQLKit
import ZakOpsCore

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
