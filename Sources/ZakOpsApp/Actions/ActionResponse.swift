import Foundation
import HTTPTypes
import Hummingbird
import ZakOpsCore
import ZakOpsHTTP

/// An action as the API shows it.
struct ActionResponse: ResponseEncodable {
    let id: String
    let dealID: String
    let type: String
    let title: String
    let summary: String
    let inputs: JSONValue
    let risk: String
    let status: String
    let proposedBy: String
    let decidedBy: String?
    let decidedAt: String?
    let decisionReason: String?
    let expiresAt: String
    let createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, type, title, summary, inputs, risk, status
        case dealID = "deal_id"
        case proposedBy = "proposed_by"
        case decidedBy = "decided_by"
        case decidedAt = "decided_at"
        case decisionReason = "decision_reason"
        case expiresAt = "expires_at"
        case createdAt = "created_at"
    }

    init(_ action: Action) {
        id = action.id; dealID = action.dealID; type = action.type.rawValue; title = action.title; summary = action.summary
        inputs = action.inputs; risk = action.risk.rawValue; status = action.status.rawValue; proposedBy = action.proposedBy
        decidedBy = action.decidedBy; decidedAt = action.decidedAt; decisionReason = action.decisionReason
        expiresAt = action.expiresAt; createdAt = action.createdAt
    }
}
