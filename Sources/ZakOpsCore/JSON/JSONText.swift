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

/// JSON string escaping that also escapes DEL and the Unicode line separators, so a value can
/// never break a log line or forge a new one.
public enum JSONText {
    public static func appendString(_ text: String, to output: inout String) {
        // Fast path: printable ASCII without quote or backslash needs no escaping (checked over
        // the contiguous bytes of a native string, without an iterator).
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where byte < 0x20 || byte >= 0x7F || byte == 0x22 || byte == 0x5C { return false }
            return true
        } ?? text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C })
        if plain {
            output.append("\"")
            output.append(text)
            output.append("\"")
            return
        }
        output.append("\"")
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output.append("\\\"")
            case "\\": output.append("\\\\")
            case "\n": output.append("\\n")
            case "\r": output.append("\\r")
            case "\t": output.append("\\t")
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029
                || (0x80...0x9F).contains(scalar.value):
                let hex = String(scalar.value, radix: 16)
                output.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        output.append("\"")
    }
}
