/// Who a request acts for: an operator signed in with a session, or a service account with an
/// API key.
public struct Principal: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case user
        case service
    }

    public let id: String
    public let kind: Kind
    public let role: Role
    /// Operators have an e-mail address, service accounts a name.
    public let email: String?
    public let name: String
    public let permissions: Set<Permission>
    /// The session's public id (operators signed in with a cookie).
    public let sessionID: String?
    /// The session's token hash, which CSRF tokens are bound to.
    public let sessionTokenHash: String?
    /// Set for an operator who must change the password before anything else.
    public let mustResetPassword: Bool

    public init(
        id: String, kind: Kind, role: Role, email: String?, name: String, permissions: Set<Permission>,
        sessionID: String? = nil, sessionTokenHash: String? = nil, mustResetPassword: Bool = false
    ) {
        self.id = id
        self.kind = kind
        self.role = role
        self.email = email
        self.name = name
        self.permissions = permissions
        self.sessionID = sessionID
        self.sessionTokenHash = sessionTokenHash
        self.mustResetPassword = mustResetPassword
    }

    /// Whether the principal holds `permission`.
    public func can(_ permission: Permission) -> Bool {
        permissions.contains(permission)
    }

    /// The built-in administrator requests act as when `AUTH_REQUIRED=false` (development only).
    public static let developmentAdmin = Principal(
        id: "op_development", kind: .user, role: .admin, email: "admin@localhost", name: "Development admin",
        permissions: Role.admin.permissions
    )
}
