import Foundation
import ZakOpsCore

/// Why a delivery failed, as the DLQ shows it (never a secret: URLs are shown without query).
struct WebhookDeliveryError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
