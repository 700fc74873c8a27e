import Foundation
import ZakOpsCore

/// The rules a new password must meet. Every refusal names the field and the rule, never the
/// password.
public enum PasswordPolicy {
    public static let minimumCharacters = 12
    /// bcrypt reads only the first 72 bytes: longer passwords are refused, never truncated.
    public static let maximumBytes = 72

    /// The 10,000 most common passwords (zxcvbn's list; THIRD_PARTY_NOTICES.md).
    static let commonPasswords: Set<String> = {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            preconditionFailure("the bundled common-passwords list is missing")
        }
        return Set(text.split(separator: "\n").map { String($0).lowercased() })
    }()

    /// Whether a lower-cased password is a common one, or one dressed up to pass the length
    /// rule: the list is of short passwords (only 56 of its 10,000 have 12 characters), so
    /// `Password123!`, `password1234` and `P@ssw0rd2024!` are checked as the word they are
    /// built on — digits and symbols around it removed, common substitutions undone. Only a
    /// core of 4 or more characters is looked up: a random string of digits and symbols is
    /// not a word.
    static func isCommon(_ lowered: String) -> Bool {
        if commonPasswords.contains(lowered) { return true }
        let core = String(lowered.drop(while: Self.isDecoration).reversed().drop(while: Self.isDecoration).reversed())
        guard core.count >= 4 else { return false }
        let candidates = [core, undo(core, one: "i"), undo(core, one: "l")]
        return candidates.contains { commonPasswords.contains($0) }
    }

    private static func isDecoration(_ character: Character) -> Bool {
        character.isNumber || character.isPunctuation || character.isSymbol || character.isWhitespace
    }

    /// `core` with the usual look-alike substitutions undone (`1` read as `one`).
    private static func undo(_ core: String, one: Character) -> String {
        String(core.map { character -> Character in
            switch character {
            case "@", "4": "a"
            case "3": "e"
            case "0": "o"
            case "$", "5": "s"
            case "7", "+": "t"
            case "1": one
            case "!": "i"
            case "|": "l"
            default: character
            }
        })
    }

    /// Throws a validation error on `field` when `password` breaks a rule.
    public static func validate(_ password: String, email: String, field: String) throws {
        if password.count < minimumCharacters {
            throw AppError.validation(field: field, problem: "must be at least \(minimumCharacters) characters")
        }
        // bcrypt's C code stops at a NUL byte: "\0secret" would be stored as the empty password.
        if password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw AppError.validation(field: field, problem: "must not contain control characters")
        }
        if password.utf8.count > maximumBytes {
            throw AppError.validation(field: field, problem: "must be at most \(maximumBytes) bytes (bcrypt's limit)")
        }
        let lowered = password.lowercased()
        if isCommon(lowered) {
            throw AppError.validation(field: field, problem: "is one of the most common passwords")
        }
        let local = email.split(separator: "@").first.map { String($0).lowercased() } ?? ""
        if local.count >= 3 && lowered.contains(local) {
            throw AppError.validation(field: field, problem: "must not contain the e-mail address")
        }
    }
}
