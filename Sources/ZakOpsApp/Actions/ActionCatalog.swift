import Foundation
import ZakOpsCore

/// The kinds of action an agent may propose, each with its input rules and the risk the server
/// assigns it (never taken from the request). Every risk but low waits for a human.
enum ActionType: String, Sendable, CaseIterable, Codable {
    case sendEmail = "communication.send_email"
    case generateLOI = "document.generate_loi"
    case requestDocs = "diligence.request_docs"
    case valuationModel = "analysis.build_valuation_model"
    case stageTransition = "deal.stage_transition"

    var risk: ActionRisk {
        switch self {
        case .sendEmail: .critical
        case .generateLOI: .high
        case .stageTransition, .requestDocs: .medium
        case .valuationModel: .low
        }
    }

    /// Checks `inputs` against the type's schema; names the offending field, never its value.
    func validate(_ inputs: JSONValue) throws {
        guard case .object(let fields) = inputs else { throw AppError.validation(field: "inputs", problem: "must be an object") }
        func allowOnly(_ names: Set<String>) throws {
            let unknown = fields.keys.filter { !names.contains($0) }.sorted()
            if !unknown.isEmpty {
                throw AppError.validation(field: unknown.map { "inputs." + ($0.count <= 64 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") } ? $0 : "*") }.joined(separator: ","),
                                          problem: "is not a known field")
            }
        }
        func text(_ name: String, max: Int, required: Bool = true) throws {
            guard let value = fields[name] else {
                if required { throw AppError.validation(field: "inputs.\(name)", problem: "is required") }
                return
            }
            guard case .string(let string) = value, !string.isEmpty, string.count <= max, !JSONValue.string(string).hasControlCharacters else {
                throw AppError.validation(field: "inputs.\(name)", problem: "must be text of 1 to \(max) characters")
            }
        }
        switch self {
        case .sendEmail:
            try allowOnly(["to", "subject", "body"])
            try text("to", max: 254)
            if case .string(let to) = fields["to"] { try Validate.email(to, field: "inputs.to") }
            try text("subject", max: 200)
            try text("body", max: 20_000)
        case .generateLOI:
            try allowOnly(["purchase_price", "terms"])
            guard case .number(let price) = fields["purchase_price"], price > 0, price < 1e15 else {
                throw AppError.validation(field: "inputs.purchase_price", problem: "must be a positive number below 10^15")
            }
            try text("terms", max: 20_000, required: false)
        case .requestDocs:
            try allowOnly(["documents", "due_date"])
            guard case .array(let documents) = fields["documents"], (1...50).contains(documents.count),
                  documents.allSatisfy({ if case .string(let name) = $0 { !name.isEmpty && name.count <= 200 && !$0.hasControlCharacters } else { false } }) else {
                throw AppError.validation(field: "inputs.documents", problem: "must be a list of 1 to 50 document names")
            }
            if let due = fields["due_date"] {
                guard case .string(let text) = due, text.count == 10, Timestamp.date(from: text + "T00:00:00.000Z") != nil else {
                    throw AppError.validation(field: "inputs.due_date", problem: "must be a date such as 2027-01-31")
                }
            }
        case .valuationModel:
            try allowOnly(["method"])
            guard case .string(let method) = fields["method"], ["dcf", "multiples", "lbo"].contains(method) else {
                throw AppError.validation(field: "inputs.method", problem: "must be one of: dcf, multiples, lbo")
            }
        case .stageTransition:
            try allowOnly(["to_stage", "reason"])
            guard case .string(let stage) = fields["to_stage"], DealStage(rawValue: stage) != nil else {
                throw AppError.validation(field: "inputs.to_stage", problem: "must be a deal stage")
            }
            try text("reason", max: 200, required: false)
            // The same rule the transition applies when the action is approved.
            if case .string(let reason) = fields["reason"] { _ = try Validate.name(reason, field: "inputs.reason") }
        }
    }
}

enum ActionRisk: String, Sendable, Codable {
    case low, medium, high, critical
}

enum ActionStatus: String, Sendable, CaseIterable, Codable {
    case pendingApproval = "pending_approval"
    case approved, rejected, expired, completed, failed
}
