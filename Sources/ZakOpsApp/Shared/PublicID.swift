import ZakOpsCore

/// Every public identifier the server mints: a prefix and random bits in base32 (not
/// sequential, not UUIDs). API keys are credentials, not identifiers: `BearerKey.mint`.
enum PublicID {
    enum Kind: Sendable {
        case deal, action, operatorAccount, session, serviceAccount, apiKey, webhook, auditEntry, outboxMessage

        var prefix: String {
            switch self {
            case .deal: "DEAL-"
            case .action: "ACT-"
            case .operatorAccount: "op_"
            case .session: "ses_"
            case .serviceAccount: "sa_"
            case .apiKey: "key_"
            case .webhook: "wh_"
            case .auditEntry: "aud_"
            case .outboxMessage: "msg_"
            }
        }

        /// 80 random bits; 128 for outbox messages, whose id is the `webhook-id` every
        /// receiver deduplicates on.
        var randomBytes: Int { self == .outboxMessage ? 16 : 10 }

        /// Deal and action ids are upper case: people read them out and type them.
        var isUpperCase: Bool { self == .deal || self == .action }
    }

    static func make(_ kind: Kind) -> String {
        let random = RandomToken.base32(RandomToken.bytes(kind.randomBytes))
        return kind.prefix + (kind.isUpperCase ? random.uppercased() : random)
    }
}
