import Foundation
import SQLKit
import ZakOpsCore

/// A single-use link that lets a person set a password: the self-service reset, an
/// administrator's invitation or forced reset, the auth-breach playbook's reset for everyone.
/// The token is 256 random bits, stored as SHA-256 only; it replaces the person's older tokens.
enum PasswordLink {
    /// How long each kind of link stays usable.
    enum Purpose {
        case reset, invitation, forcedReset

        var lifetime: TimeInterval {
            switch self {
            case .reset: PasswordResetService.lifetime
            case .invitation: 7 * 86_400
            case .forcedReset: 72 * 3600
            }
        }
    }

    /// The link's address for `token`. The token travels in the fragment, which browsers never
    /// send to a server (no access log or proxy sees it).
    static func url(base: String, token: String) -> String {
        "\(base)/reset-password#token=\(token)"
    }

    /// Stores a new token for the operator in the caller's transaction and queues `mail(link)`
    /// through `mailer` in the same transaction.
    static func issue(operatorID: String, purpose: Purpose, base: String, now: Date, mailer: any Mailer, in sql: any SQLDatabase,
                      mail: (_ link: String, _ validUntil: String) -> Mail) async throws {
        let token = Base64URL.encode(Data(RandomToken.bytes(32)))
        let expires = now.addingTimeInterval(purpose.lifetime)
        try await ResetTokenRepository.replace(operatorID: operatorID, tokenHash: Digest.sha256Hex(token), now: now, expiresAt: expires, in: sql)
        try await mailer.send(mail(url(base: base, token: token), Timestamp.string(from: expires)), in: sql)
    }
}
