import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// Who did what, from where, in a window: the auth-breach playbook's access report and
/// `zakops audit access --since T [--principal ID]`. Built from what the database keeps: the
/// audit trail (every write and every sign-in, with address and user agent), the sessions
/// still open, and the API keys used in the window.
public struct AccessReport: Sendable, Codable {
    public struct Write: Sendable, Codable {
        public let seq: Int64
        public let occurredAt: String
        public let actorID: String
        public let actorKind: String
        public let action: String
        public let targetKind: String
        public let targetID: String
        public let clientIP: String?
        public let requestID: String?
        enum CodingKeys: String, CodingKey {
            case seq, action
            case occurredAt = "occurred_at"
            case actorID = "actor_id"
            case actorKind = "actor_kind"
            case targetKind = "target_kind"
            case targetID = "target_id"
            case clientIP = "client_ip"
            case requestID = "request_id"
        }
    }

    public struct Session: Sendable, Codable {
        public let id: String
        public let operatorID: String
        public let createdAt: String
        public let lastSeenAt: String
        public let clientIP: String?
        public let userAgent: String?
        enum CodingKeys: String, CodingKey {
            case id
            case operatorID = "operator_id"
            case createdAt = "created_at"
            case lastSeenAt = "last_seen_at"
            case clientIP = "client_ip"
            case userAgent = "user_agent"
        }
    }

    public struct KeyUse: Sendable, Codable {
        public let keyID: String
        public let serviceAccountID: String
        public let lastUsedAt: String
        public let createdBy: String?
        enum CodingKeys: String, CodingKey {
            case keyID = "key_id"
            case serviceAccountID = "service_account_id"
            case lastUsedAt = "last_used_at"
            case createdBy = "created_by"
        }
    }

    public struct Seen: Sendable, Codable, Equatable {
        public let value: String
        public let count: Int
    }

    public let since: String
    public let until: String
    public let principal: String?
    public let writes: [Write]
    /// Whether `writes` stopped at `maximumWrites` (narrow the window or the principal).
    public let truncated: Bool
    public let sessions: [Session]
    public let keyUses: [KeyUse]
    public let addresses: [Seen]
    public let userAgents: [Seen]

    enum CodingKeys: String, CodingKey {
        case since, until, principal, writes, truncated, sessions, addresses
        case keyUses = "key_uses"
        case userAgents = "user_agents"
    }

    static let maximumWrites = 10_000

    /// The report of `[since, until]`, for one principal (operator or service account) or all.
    /// With no `until` the window is open: up to now, including what another instance whose
    /// clock runs a little ahead wrote (`now` is what the report names as its end).
    static func build(since: Date, until: Date?, now: Date, principal: String?, in sql: any SQLDatabase) async throws -> AccessReport {
        let from = Timestamp.string(from: since), to = until.map { Timestamp.string(from: $0) }
        var audit = sql.select().columns("seq", "occurred_at", "actor_id", "actor_kind", "action", "target_kind", "target_id", "changes", "client_ip", "request_id")
            .from("audit_log").where("occurred_at", .greaterThanOrEqual, SQLBind(from))
        if let to { audit = audit.where("occurred_at", .lessThanOrEqual, SQLBind(to)) }
        if let principal {
            // A failed sign-in names the account as its target, not its actor.
            audit = audit.where { $0.where("actor_id", .equal, SQLBind(principal)).orWhere("target_id", .equal, SQLBind(principal)) }
        }
        let rows = try await audit.orderBy("seq").limit(maximumWrites + 1).all()
        var agents: [String: Int] = [:], addresses: [String: Int] = [:]
        var writes: [Write] = []
        for row in rows.prefix(maximumWrites) {
            let write = Write(
                seq: try row.decode(column: "seq", as: Int64.self), occurredAt: try row.decode(column: "occurred_at", as: String.self),
                actorID: try row.decode(column: "actor_id", as: String.self), actorKind: try row.decode(column: "actor_kind", as: String.self),
                action: try row.decode(column: "action", as: String.self), targetKind: try row.decode(column: "target_kind", as: String.self),
                targetID: try row.decode(column: "target_id", as: String.self), clientIP: try row.decode(column: "client_ip", as: String?.self),
                requestID: try row.decode(column: "request_id", as: String?.self)
            )
            writes.append(write)
            if let ip = write.clientIP { addresses[ip, default: 0] += 1 }
            if case .object(let changes) = JSONText.value(try row.decode(column: "changes", as: String.self)),
               case .object(let agent)? = changes["user_agent"], case .string(let text)? = agent["after"] {
                agents[text, default: 0] += 1
            }
        }
        var sessionQuery = sql.select().columns("id", "operator_id", "created_at", "last_seen_at", "client_ip", "user_agent").from("sessions")
            .where("last_seen_at", .greaterThanOrEqual, SQLBind(from))
        if let to { sessionQuery = sessionQuery.where("created_at", .lessThanOrEqual, SQLBind(to)) }
        if let principal { sessionQuery = sessionQuery.where("operator_id", .equal, SQLBind(principal)) }
        let sessions = try await sessionQuery.orderBy("created_at").all().map { row in
            Session(id: try row.decode(column: "id", as: String.self), operatorID: try row.decode(column: "operator_id", as: String.self),
                    createdAt: try row.decode(column: "created_at", as: String.self), lastSeenAt: try row.decode(column: "last_seen_at", as: String.self),
                    clientIP: try row.decode(column: "client_ip", as: String?.self), userAgent: try row.decode(column: "user_agent", as: String?.self))
        }
        for session in sessions {
            if let ip = session.clientIP { addresses[ip, default: 0] += 1 }
            if let agent = session.userAgent { agents[agent, default: 0] += 1 }
        }
        var keyQuery = sql.select().columns("id", "service_account_id", "last_used_at", "created_by").from("api_keys")
            .where("last_used_at", .greaterThanOrEqual, SQLBind(from))
        if let to { keyQuery = keyQuery.where("last_used_at", .lessThanOrEqual, SQLBind(to)) }
        if let principal { keyQuery = keyQuery.where("service_account_id", .equal, SQLBind(principal)) }
        let keys = try await keyQuery.orderBy("last_used_at").all().map { row in
            KeyUse(keyID: try row.decode(column: "id", as: String.self), serviceAccountID: try row.decode(column: "service_account_id", as: String.self),
                   lastUsedAt: try row.decode(column: "last_used_at", as: String.self), createdBy: try row.decode(column: "created_by", as: String?.self))
        }
        func ranked(_ counts: [String: Int]) -> [Seen] {
            counts.map { Seen(value: $0.key, count: $0.value) }.sorted { ($0.count, $1.value) > ($1.count, $0.value) }
        }
        return AccessReport(since: from, until: to ?? Timestamp.string(from: now), principal: principal, writes: writes, truncated: rows.count > maximumWrites,
                            sessions: sessions, keyUses: keys, addresses: ranked(addresses), userAgents: ranked(agents))
    }
}
