import Foundation
import Hummingbird
import ZakOpsCore

/// The one check for text that list and filter endpoints take from a query string or a
/// command line. A refused value gets a validation error naming the field; the value itself
/// is never echoed.
public enum QueryText {
    /// What a value may hold.
    public enum Shape: Sendable {
        /// Printable ASCII without spaces (ids, action names, times).
        case printable
        /// Consumer names and event types in outbox filters: letters, digits and `. _ : - *`.
        case filterName
        /// Event type names: lower-case letters, `.` and `_`.
        case eventType

        func allows(_ character: Character) -> Bool {
            guard character.isASCII else { return false }
            switch self {
            case .printable: return !character.isWhitespace && character.asciiValue! >= 0x20
            case .filterName: return character.isLetter || character.isNumber || "._:-*".contains(character)
            case .eventType: return character.isLowercase || character == "." || character == "_"
            }
        }

        var problem: String {
            switch self {
            case .printable: "printable characters"
            case .filterName: "letters, digits, or . _ : - *"
            case .eventType: "lower-case letters, . or _"
            }
        }
    }

    /// `value` if it is 1 to `max` characters of `shape`.
    public static func check(_ value: String, field: String, max: Int = 100, shape: Shape = .printable) throws -> String {
        guard (1...max).contains(value.count), value.allSatisfy(shape.allows) else {
            throw AppError.validation(field: field, problem: "must be 1 to \(max) \(shape.problem)")
        }
        return value
    }

    /// The query parameter `name`, checked; nil when absent.
    public static func parameter(_ request: Request, _ name: String, max: Int = 100, shape: Shape = .printable) throws -> String? {
        try request.uri.queryParameters[Substring(name)].map { try check(String($0), field: name, max: max, shape: shape) }
    }

    /// Free search text (`q`): LIKE's wildcards dropped (text the user cannot mean), trimmed,
    /// at most `max` characters, no control characters; nil when nothing is left.
    public static func search(_ request: Request, _ name: String, max: Int = 200) throws -> String? {
        guard let raw = request.uri.queryParameters[Substring(name)] else { return nil }
        let cleaned = String(raw).filter { $0 != "%" && $0 != "_" && $0 != "\\" }.trimmingCharacters(in: .whitespaces)
        guard cleaned.count <= max else { throw AppError.validation(field: name, problem: "must be at most \(max) characters") }
        guard !cleaned.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw AppError.validation(field: name, problem: "must not contain control characters")
        }
        return cleaned.isEmpty ? nil : cleaned
    }
}
