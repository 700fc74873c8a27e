import Logging

/// Where the outbox delivers mail (`MAIL_BACKEND`).
public enum MailBackend: String, Sendable, CaseIterable {
    case file
    case sendmail
}
