import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// An alert that fired or resolved, told through the outbox — retried, dead-lettered and
/// surviving a crash like every delivery: a webhook signed like every webhook
/// (`ALERT_WEBHOOK_URL`, Standard Webhooks headers with `ALERT_WEBHOOK_SECRET`) and/or mail
/// (`ALERT_EMAIL`). The rows are written in the transaction that records the transition, so a
/// transition is told exactly when it is recorded.
struct AlertNotifier: Sendable {
    static let consumer = "alert-webhook"

    let webhookURL: String?
    let email: String?
    let mailer: OutboxMailer

    struct Payload: Codable, Equatable {
        let type: String
        let alert: String
        let severity: String
        let status: String
        let summary: String
        let value: Double?
        let valueMeaning: String
        let runbook: String
        let activeSince: String?
        let firedAt: String?
        let resolvedAt: String?
        enum CodingKeys: String, CodingKey {
            case type, alert, severity, status, summary, value, runbook
            case valueMeaning = "value_meaning"
            case activeSince = "active_since"
            case firedAt = "fired_at"
            case resolvedAt = "resolved_at"
        }
    }

    func notify(_ transition: AlertStatus.Transition, rule: AlertRule, status: AlertStatus, in sql: any SQLDatabase) async throws {
        let payload = Payload(type: "alert.\(transition.rawValue)", alert: rule.name, severity: rule.severity.rawValue, status: transition.rawValue,
                              summary: rule.summary, value: status.value.flatMap { $0.isFinite ? $0 : nil }, valueMeaning: rule.valueMeaning,
                              runbook: rule.runbook, activeSince: status.activeSince, firedAt: status.firedAt, resolvedAt: status.resolvedAt)
        if webhookURL != nil {
            try await OutboxRepository.enqueue(consumer: Self.consumer, eventType: payload.type, payload: try JSONText.encode(payload),
                                               at: Timestamp.date(from: status.evaluatedAt ?? "") ?? Date(), in: sql)
        }
        if let email {
            let verb = transition == .fired ? "FIRING" : "resolved"
            let value = payload.value.map { "\(PrometheusRules.number($0)) (\(rule.valueMeaning))" } ?? "no value"
            let body = """
                \(rule.name) is \(verb) (\(rule.severity.rawValue)).

                \(rule.summary).
                Value: \(value)
                Since: \(status.activeSince ?? status.firedAt ?? "-")\(transition == .resolved ? "\nResolved: \(status.resolvedAt ?? "-")" : "")
                Runbook: \(rule.runbook)
                """
            try await mailer.send(Mail(to: email, subject: "[ZakOps] \(verb): \(rule.name)", body: body), in: sql)
        }
    }
}
