import Foundation
import ZakOpsCore

/// Where one alert stands: inactive, pending (the condition holds, not yet for the rule's
/// `for`), or firing. Kept in `alert_states`.
public struct AlertStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        case inactive, pending, firing
    }

    public enum Transition: String, Sendable {
        case fired = "firing"
        case resolved
    }

    public let name: String
    public var state: State
    public var value: Double?
    /// When the condition started to hold (pending or firing).
    public var activeSince: String?
    public var firedAt: String?
    public var resolvedAt: String?
    public var evaluatedAt: String?

    enum CodingKeys: String, CodingKey {
        case name, state, value
        case activeSince = "active_since"
        case firedAt = "fired_at"
        case resolvedAt = "resolved_at"
        case evaluatedAt = "evaluated_at"
    }

    static func inactive(_ name: String) -> AlertStatus {
        AlertStatus(name: name, state: .inactive)
    }

    /// One evaluation: inactive → pending when the condition holds, pending → firing once it
    /// held for the rule's `for` (at once when that is 0), firing → inactive (resolved) when it
    /// no longer holds; a pending alert whose condition stops holding goes back quietly.
    func step(holds: Bool, value: Double?, forSeconds: Int, now: Date) -> (AlertStatus, Transition?) {
        var next = self
        next.value = value.flatMap { $0.isFinite ? $0 : nil }
        next.evaluatedAt = Timestamp.string(from: now)
        let stamp = Timestamp.string(from: now)
        guard holds else {
            next.activeSince = nil
            guard state == .firing else {
                next.state = .inactive
                return (next, nil)
            }
            next.state = .inactive
            next.resolvedAt = stamp
            return (next, .resolved)
        }
        switch state {
        case .firing:
            return (next, nil)
        case .inactive, .pending:
            let since = (state == .pending ? activeSince.flatMap(Timestamp.date(from:)) : nil) ?? now
            next.activeSince = Timestamp.string(from: since)
            guard now.timeIntervalSince(since) >= TimeInterval(forSeconds) else {
                next.state = .pending
                return (next, nil)
            }
            next.state = .firing
            next.firedAt = stamp
            next.resolvedAt = nil
            return (next, .fired)
        }
    }
}
