import Foundation
import Logging
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The embedded evaluator: the catalog's rules computed from the instances' reports, with
/// pending → firing → resolved kept in `alert_states` and each transition notified. Any
/// instance may evaluate; one at a time does (`Database.exclusively`), so a cluster notifies
/// once.
struct AlertEvaluator: Sendable {
    static let lockKey = AdvisoryLock.alerts.rawValue

    struct Change: Sendable, Equatable {
        let name: String
        let transition: AlertStatus.Transition
    }

    let database: Database
    let notifier: AlertNotifier
    let logger: Logger
    var rules: [AlertRule] = AlertCatalog.rules.filter { if case .everywhere = $0.scope { true } else { false } }

    /// Evaluates every rule at `now`; returns the transitions made (none when another instance
    /// holds the evaluation).
    @discardableResult
    func evaluate(_ history: AlertHistory, now: Date) async throws -> [Change] {
        let made = try await database.exclusively(Self.lockKey) { [database, rules, notifier] () async throws -> [Change] in
            try await database.transaction { sql async throws -> [Change] in
                let states = try await AlertRepository.states(in: sql)
                var made: [Change] = []
                for rule in rules {
                    let value = history.value(rule.signal, now: now)
                    let holds = Self.holds(rule, value: value, baseline: rule.baseline.flatMap { history.value($0.signal, now: now) })
                    // A partial window (a fresh start) is evidence enough to fire — what it saw
                    // happened inside the window — but not to resolve or to drop a pending
                    // alert: that the trouble stopped needs the whole window.
                    if !holds && !history.covers(rule.signal, now: now) { continue }
                    let (next, transition) = (states[rule.name] ?? .inactive(rule.name)).step(holds: holds, value: value, forSeconds: rule.forSeconds, now: now)
                    try await AlertRepository.save(next, in: sql)
                    if let transition {
                        try await notifier.notify(transition, rule: rule, status: next, in: sql)
                        made.append(Change(name: rule.name, transition: transition))
                    }
                }
                return made
            }
        } ?? []
        for change in made {
            logger.log(level: change.transition == .fired ? .warning : .notice, "alert \(change.transition.rawValue)", metadata: ["alert": .string(change.name)])
        }
        return made
    }

    /// The rule's condition: the comparison with the threshold, and above the baseline's multiple.
    static func holds(_ rule: AlertRule, value: Double?, baseline: Double?) -> Bool {
        guard let value, value.isFinite, rule.comparison.holds(value, rule.threshold) else { return false }
        guard let rulesBaseline = rule.baseline else { return true }
        return value > rulesBaseline.multiple * (baseline ?? 0)
    }

    static func overview(in database: Database) async throws -> AlertOverview {
        try await AlertsOverview.read(in: database)
    }
}

/// Every rule with its stored state (inactive when never evaluated), for the endpoint and
/// `zakops alerts`.
public enum AlertsOverview {
    public static func read(in database: Database) async throws -> AlertOverview {
        let states = try await database.read { sql in try await AlertRepository.states(in: sql) }
        return AlertOverview(alerts: AlertCatalog.rules.map { rule in
            AlertOverview.Entry(rule: rule, status: states[rule.name] ?? .inactive(rule.name))
        })
    }
}

/// `GET /api/admin/alerts` and `zakops alerts --json`.
public struct AlertOverview: Sendable, Codable {
    public struct Entry: Sendable, Codable {
        public let name: String
        public let severity: String
        public let summary: String
        public let runbook: String
        /// Whether the embedded evaluator computes it (`false`: Prometheus only).
        public let embedded: Bool
        public let status: AlertStatus

        init(rule: AlertRule, status: AlertStatus) {
            name = rule.name
            severity = rule.severity.rawValue
            summary = rule.summary
            runbook = rule.runbook
            if case .everywhere = rule.scope { embedded = true } else { embedded = false }
            self.status = status
        }
    }

    public let alerts: [Entry]
}
