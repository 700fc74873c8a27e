import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsHTTP

/// One field's change: the values before and after as JSON, or `redacted` for personal data.
struct FieldChange: Sendable, Encodable {
    let before: JSONValue?
    let after: JSONValue?

    static let redacted = JSONValue.string("[redacted]")
}
