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
        if commonPasswords.contains(lowered) {
            throw AppError.validation(field: field, problem: "is one of the most common passwords")
        }
        let local = email.split(separator: "@").first.map { String($0).lowercased() } ?? ""
        if local.count >= 3 && lowered.contains(local) {
            throw AppError.validation(field: field, problem: "must not contain the e-mail address")
        }
    }
}
