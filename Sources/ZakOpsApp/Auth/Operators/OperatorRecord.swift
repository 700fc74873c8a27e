import SQLKit
import ZakOpsCore

/// An operator row.
struct OperatorRecord: Sendable {
    let id: String
    let email: String
    let name: String
    let role: Role
    let passwordHash: String
    let isActive: Bool
    let mustResetPassword: Bool
    let totpSecret: String?
    let totpEnabled: Bool
    /// A forced reset is pending: sign-in is refused until the e-mailed link sets a password.
    let resetRequired: Bool

    static let columns = ["id", "email", "name", "role", "password_hash", "is_active", "must_reset_password", "totp_secret", "totp_enabled",
                          "reset_required"]

    init(row: any SQLRow, prefix: String = "") throws {
        id = try row.decode(column: prefix + "id", as: String.self)
        email = try row.decode(column: prefix + "email", as: String.self)
        name = try row.decode(column: prefix + "name", as: String.self)
        role = Role(rawValue: try row.decode(column: prefix + "role", as: String.self)) ?? .viewer
        passwordHash = try row.decode(column: prefix + "password_hash", as: String.self)
        isActive = try row.decode(column: prefix + "is_active", as: Bool.self)
        mustResetPassword = try row.decode(column: prefix + "must_reset_password", as: Bool.self)
        totpSecret = try row.decode(column: prefix + "totp_secret", as: String?.self)
        totpEnabled = try row.decode(column: prefix + "totp_enabled", as: Bool.self)
        resetRequired = try row.decode(column: prefix + "reset_required", as: Bool.self)
    }

    /// The principal this operator acts as, through the given session.
    func principal(session: SessionRecord?) -> Principal {
        Principal(
            id: id, kind: .user, role: role, email: email, name: name, permissions: role.permissions,
            sessionID: session?.id, sessionTokenHash: session?.tokenHash, mustResetPassword: mustResetPassword
        )
    }
}
