import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// A webhook subscription as stored. The signing secrets are kept sealed (`DataKeyRing`,
/// bound to the webhook's id); `previousSecret` still signs until `previousSecretUntil`, the
/// overlap of a rotation.
struct Webhook: Sendable, Equatable {
    let id: String
    var url: String
    var eventTypes: [String]
    /// Sealed.
    var secret: String
    var isActive: Bool
    let createdAt: String
    var updatedAt: String
    /// Sealed; nil when no rotation overlap is running.
    var previousSecret: String? = nil
    var previousSecretUntil: String? = nil
    var secretRotatedAt: String? = nil

    static func sealContext(_ id: String) -> String { "webhook:" + id }

    /// The secrets that sign a delivery at `now`, opened: the current one, and the previous
    /// one during its overlap.
    func signingSecrets(at now: Date, keys: DataKeyRing) throws -> [String] {
        var secrets = [try keys.open(secret, context: Self.sealContext(id))]
        if let previousSecret, let until = previousSecretUntil, until > Timestamp.string(from: now) {
            secrets.append(try keys.open(previousSecret, context: Self.sealContext(id)))
        }
        return secrets
    }

    /// Whether an event of this type goes to this webhook (`*` subscribes to all).
    func wants(_ type: String) -> Bool { isActive && (eventTypes.contains("*") || eventTypes.contains(type)) }

    var consumer: String { "webhook:\(id)" }
}
