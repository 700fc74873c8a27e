import ZakOpsCore

/// One audit entry as the API shows it.
struct AuditEntry: Encodable, Sendable {
    let id: String
    let occurredAt: String
    let actorID: String
    let actorKind: String
    let action: String
    let targetKind: String
    let targetID: String
    let changes: JSONValue
    let requestID: String?
    let clientIP: String?
    enum CodingKeys: String, CodingKey {
        case id, action, changes
        case occurredAt = "occurred_at"
        case actorID = "actor_id"
        case actorKind = "actor_kind"
        case targetKind = "target_kind"
        case targetID = "target_id"
        case requestID = "request_id"
        case clientIP = "client_ip"
    }
}
