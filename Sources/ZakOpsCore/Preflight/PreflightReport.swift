/// The outcome of one preflight check.
public enum PreflightStatus: String, Sendable, Codable {
    case pass = "PASS"
    case warn = "WARN"
    case fail = "FAIL"
}

/// One line of the preflight report: the checklist item, its outcome and how to fix it.
public struct PreflightCheck: Sendable, Codable, Equatable {
    /// Stable identifier, for machines (`auth_required`, `session_secret`, …).
    public let id: String
    public let status: PreflightStatus
    /// The security-checklist item this check stands for.
    public let item: String
    /// What was found. Never contains a secret value.
    public let detail: String
    /// What to do about it (empty when the check passed).
    public let fix: String
}

/// Every check, in checklist order.
public struct PreflightReport: Sendable, Codable, Equatable {
    public let checks: [PreflightCheck]

    /// True when no check failed.
    public var ok: Bool { !checks.contains { $0.status == .fail } }

    /// The failed checks.
    public var failures: [PreflightCheck] { checks.filter { $0.status == .fail } }

    /// Human-readable lines: `STATUS  item — detail` and, when not passed, the fix.
    public var text: String {
        var lines: [String] = []
        for check in checks {
            lines.append("\(check.status.rawValue)  \(check.item) — \(check.detail)")
            if check.status != .pass { lines.append("      fix: \(check.fix)") }
        }
        let failed = checks.filter { $0.status == .fail }.count
        let warned = checks.filter { $0.status == .warn }.count
        lines.append(failed == 0
            ? "preflight passed (\(warned) warning\(warned == 1 ? "" : "s"))"
            : "preflight FAILED: \(failed) check\(failed == 1 ? "" : "s") failed, \(warned) warning\(warned == 1 ? "" : "s")")
        return lines.joined(separator: "\n")
    }
}
