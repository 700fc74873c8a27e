import Foundation
import SQLKit
import ZakOpsCore

/// An action as stored.
struct Action: Sendable, Equatable {
    let id: String
    let dealID: String
    let type: ActionType
    let title: String
    let summary: String
    let inputs: JSONValue
    let risk: ActionRisk
    var status: ActionStatus
    let proposedBy: String
    let proposedByKind: String
    var decidedBy: String?
    var decidedAt: String?
    var decisionReason: String?
    let expiresAt: String
    let createdAt: String
}
