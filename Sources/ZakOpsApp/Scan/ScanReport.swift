import Foundation

/// What `zakops scan` found: one finding per checklist item, PASS, FAIL (with the fix) or SKIP
/// (not checked, and why).
public struct ScanReport: Sendable, Codable {
    public enum Status: String, Sendable, Codable {
        case pass = "PASS"
        case fail = "FAIL"
        case skip = "SKIP"
    }

    public struct Finding: Sendable, Codable, Equatable {
        public let id: String
        public let item: String
        public let status: Status
        public let detail: String
        public let fix: String?
    }

    public let target: String
    public let findings: [Finding]

    public var ok: Bool { !findings.contains { $0.status == .fail } }

    public var text: String {
        var lines = findings.map { finding in
            var line = "\(finding.status.rawValue)  \(finding.item): \(finding.detail)"
            if finding.status == .fail, let fix = finding.fix { line += "\n      fix: \(fix)" }
            return line
        }
        let failed = findings.filter { $0.status == .fail }.count
        lines.append(failed == 0 ? "scan passed: \(target)" : "scan FAILED: \(failed) item(s) at \(target)")
        return lines.joined(separator: "\n")
    }
}
