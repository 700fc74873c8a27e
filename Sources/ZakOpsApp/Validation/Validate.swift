import Foundation
import ZakOpsCore

/// Field checks shared by the controllers. Errors name the field and the rule, never the value.
enum Validate {
    static func length(_ value: String, field: String, min: Int = 0, max: Int) throws {
        if value.count < min { throw AppError.validation(field: field, problem: min == 1 ? "must not be empty" : "must be at least \(min) characters") }
        if value.count > max { throw AppError.validation(field: field, problem: "must be at most \(max) characters") }
    }

    /// Printable ASCII only: SQL `lower()` (which finds the account) and Swift's `lowercased()`
    /// (which keys the login limits) agree on ASCII, and on nothing else — with non-ASCII,
    /// `admİn@…` could reach `admin@…`'s account under a limit of its own.
    static func email(_ value: String, field: String) throws {
        try length(value, field: field, min: 3, max: 254)
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw AppError.validation(field: field, problem: "must be an e-mail address")
        }
    }

    /// A name or short text a person typed: trimmed, 1 to `max` characters, no control or
    /// invisible format characters (zero-width joiner allowed, for emoji).
    static func name(_ value: String, field: String, max: Int = 200) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= max else {
            throw AppError.validation(field: field, problem: "must be 1 to \(max) characters")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format && $0.value != 0x200D }) else {
            throw AppError.validation(field: field, problem: "must not contain control characters")
        }
        return trimmed
    }
}
