import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// A webhook subscription as stored.
struct Webhook: Sendable, Equatable {
    let id: String
    var url: String
    var eventTypes: [String]
    let secret: String
    var isActive: Bool
    let createdAt: String
    var updatedAt: String

    /// Whether an event of this type goes to this webhook (`*` subscribes to all).
    func wants(_ type: String) -> Bool { isActive && (eventTypes.contains("*") || eventTypes.contains(type)) }

    var consumer: String { "webhook:\(id)" }
}
