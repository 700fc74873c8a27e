import Foundation

/// JSON text for storage (audit changes, event payloads, free-form columns): sorted keys and
/// unescaped slashes, so the same value always gives the same text. (`JSONText` itself, with
/// the log's string escaping, is in JSONLogHandler.swift.)
extension JSONText {
    public static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Stored JSON text back as a value; `fallback` when the text is not JSON.
    public static func value(_ text: String, fallback: JSONValue = .null) -> JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))) ?? fallback
    }
}
