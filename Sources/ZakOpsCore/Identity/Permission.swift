/// What a principal may do. Every `/api` route declares one (or is one of the public auth routes).
public enum Permission: String, Sendable, CaseIterable, Codable {
    case dealsRead = "deals:read"
    case dealsWrite = "deals:write"
    case dealsDelete = "deals:delete"
    case actionsRead = "actions:read"
    case actionsPropose = "actions:propose"
    case actionsApprove = "actions:approve"
    case eventsRead = "events:read"
    case auditRead = "audit:read"
    case adminUsers = "admin:users"
    case adminSystem = "admin:system"
}

/// The roles operators and service accounts have, and the permissions each grants.
public enum Role: String, Sendable, CaseIterable, Codable {
    case admin
    case `operator`
    case viewer

    /// viewer: the read permissions; operator: all but `admin:*` and `audit:read`; admin: all.
    public var permissions: Set<Permission> {
        switch self {
        case .viewer:
            [.dealsRead, .actionsRead, .eventsRead]
        case .operator:
            Set(Permission.allCases).subtracting([.adminUsers, .adminSystem, .auditRead])
        case .admin:
            Set(Permission.allCases)
        }
    }

    /// What an agent may ever do: read deals, actions and events, and propose actions. Never
    /// `actions:approve` (a human approves), never a direct write (an agent's change to a deal
    /// goes through an approved action), never `admin:*` (an agent's key must not mint keys).
    public static let agentCeiling: Set<Permission> = [.dealsRead, .actionsRead, .actionsPropose, .eventsRead]

    /// A service account's permissions: its role's, within `agentCeiling`.
    public var serviceAccountPermissions: Set<Permission> {
        permissions.intersection(Self.agentCeiling)
    }
}
