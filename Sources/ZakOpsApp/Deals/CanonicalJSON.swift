import Foundation
import ZakOpsCore

/// A JSON object kept as its canonical text (sorted keys, unescaped slashes), the form it is
/// stored in: responses copy the text, and only a change parses it.
struct CanonicalJSON: Sendable, Equatable {
    let text: String

    /// The canonical text of `value`.
    init(_ value: JSONValue) {
        text = (try? JSONText.encode(value)) ?? "{}"
    }

    /// Text read back from the database, written there by `init(_:)`.
    init(stored text: String) {
        self.text = text
    }

    /// The parsed value (an empty object if the text is not JSON).
    var value: JSONValue { JSONText.value(text, fallback: .object([:])) }
}
