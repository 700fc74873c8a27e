import Foundation
import SQLKit
import Subprocess
import SystemPackage
import ZakOpsCore
import ZakOpsStore

/// Pipes an RFC 5322 message to a sendmail-compatible program (`SENDMAIL_PATH`, run as
/// `-t -i`: recipients from the headers, a lone dot is not the end), such as msmtp's or
/// postfix's. A non-zero exit is a failed attempt (retried by the outbox).
public struct SendmailMailer: Mailer {
    let path: String
    let from: String

    public init(path: String, from: String) {
        self.path = path
        self.from = from
    }

    public func send(_ mail: Mail) async throws {
        let message = Self.message(mail, from: from, date: Date(), id: RandomToken.base32(RandomToken.bytes(16)))
        // swift-subprocess, not Foundation's Process (whose launch on Linux can crash); a
        // sendmail that hangs is killed when the 30 s are up (cancelling `run` tears it down).
        let status = try await withThrowingTaskGroup(of: TerminationStatus?.self) { group in
            group.addTask {
                try await Subprocess.run(
                    .path(FilePath(path)), arguments: ["-t", "-i"],
                    input: .string(message), output: .discarded, error: .discarded
                ).terminationStatus
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let status else { throw WebhookDeliveryError("sendmail did not finish in 30 s") }
        switch status {
        case .exited(0): return
        case .exited(let code): throw WebhookDeliveryError("sendmail exited with status \(code)")
        case .signaled(let signal): throw WebhookDeliveryError("sendmail was ended by signal \(signal)")
        }
    }

    /// The message: headers without line breaks (no header injection), a non-ASCII subject as
    /// an RFC 2047 encoded word, CRLF line ends, UTF-8 text body.
    static func message(_ mail: Mail, from: String, date: Date, id: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        func header(_ value: String) -> String { value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ") }
        let subject = header(mail.subject)
        let encodedSubject = subject.allSatisfy(\.isASCII) ? subject : "=?utf-8?b?\(Data(subject.utf8).base64EncodedString())?="
        let domain = header(from).split(separator: "@").last.map { String($0.prefix { $0 != ">" }) } ?? "localhost"
        let lines = [
            "From: \(header(from))", "To: \(header(mail.to))", "Subject: \(encodedSubject)", "Date: \(formatter.string(from: date))",
            "Message-ID: <\(id)@\(domain)>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit", "",
        ] + mail.body.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        return lines.joined(separator: "\r\n") + "\r\n"
    }
}
