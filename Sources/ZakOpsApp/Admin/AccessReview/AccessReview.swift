import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The checklist's "regular access reviews" and "prompt deprovisioning", behind both
/// `/api/admin/access-review*` and `zakops access-review`: every operator and service account
/// with what it may do and when it last acted, flagged where the review should look.
///
/// Flags: `inactive` (no sign-in or key use for `ACCESS_REVIEW_INACTIVE_DAYS`, counted from
/// creation when never used), `admin_without_mfa`, `key_too_old` (a live key older than
/// `API_KEY_MAX_AGE_DAYS`), `key_minted_by_disabled_operator`. Recording a review stores it
/// (`reports`) with an audit entry naming who reviewed, when, and what was changed.
public struct AccessReview: Sendable {
    let database: Database
    let users: UserAdmin
    let serviceAccounts: ServiceAccountService
    let inactiveDays: Int

    public init(database: Database, settings: Settings) throws {
        self.init(database: database, users: try UserAdmin(database: database, settings: settings),
                  serviceAccounts: ServiceAccountService(database: database, maxKeyAge: TimeInterval(settings.apiKeyMaxAgeDays * 86_400)),
                  inactiveDays: settings.accessReviewInactiveDays)
    }

    init(database: Database, users: UserAdmin, serviceAccounts: ServiceAccountService, inactiveDays: Int) {
        self.database = database
        self.users = users
        self.serviceAccounts = serviceAccounts
        self.inactiveDays = inactiveDays
    }

    public enum Flag: String, Sendable, Codable, CaseIterable {
        case inactive
        case adminWithoutMFA = "admin_without_mfa"
        case keyTooOld = "key_too_old"
        case keyMintedByDisabledOperator = "key_minted_by_disabled_operator"
    }

    public struct KeyInfo: Sendable, Codable {
        public let id: String
        public let createdAt: String
        public let ageDays: Int
        public let createdBy: String?
        public let lastUsedAt: String?
        public let expiresAt: String
        enum CodingKeys: String, CodingKey {
            case id
            case createdAt = "created_at"
            case ageDays = "age_days"
            case createdBy = "created_by"
            case lastUsedAt = "last_used_at"
            case expiresAt = "expires_at"
        }
    }

    public struct Entry: Sendable, Codable {
        /// `operator` or `service_account`.
        public let kind: String
        public let id: String
        public let name: String
        public let email: String?
        public let role: Role
        public let permissions: [String]
        public let status: String
        public let mfaEnabled: Bool?
        /// The last sign-in (operators) or the last use of any key (service accounts).
        public let lastActivityAt: String?
        public let keys: [KeyInfo]
        public let flags: [Flag]
        enum CodingKeys: String, CodingKey {
            case kind, id, name, email, role, permissions, status, keys, flags
            case mfaEnabled = "mfa_enabled"
            case lastActivityAt = "last_activity_at"
        }
    }

    public struct Report: Sendable, Codable {
        public let generatedAt: String
        public let inactiveDays: Int
        public let keyMaxAgeDays: Int
        public let entries: [Entry]
        public let flagged: Int
        enum CodingKeys: String, CodingKey {
            case entries, flagged
            case generatedAt = "generated_at"
            case inactiveDays = "inactive_days"
            case keyMaxAgeDays = "key_max_age_days"
        }
    }

    /// What a recorded review or a deprovisioning run did.
    public struct Recorded: Sendable, Codable {
        public let reportID: String?
        public let dryRun: Bool
        public let disabled: [String]
        /// Flagged inactive but kept: the last active admin.
        public let kept: [String]
        public let report: Report
        enum CodingKeys: String, CodingKey {
            case disabled, kept, report
            case reportID = "report_id"
            case dryRun = "dry_run"
        }
    }

    /// The review as of `now`.
    public func report(now: Date) async throws -> Report {
        let inactiveBefore = Timestamp.string(from: now.addingTimeInterval(-Double(inactiveDays) * 86_400))
        let maxAge = serviceAccounts.maxKeyAge
        return try await database.read { sql in
            let operators = try await UserRepository.all(in: sql)
            // Erased operators count as gone too (`all` leaves them out).
            let activeOperators = Set(operators.filter { $0.status == .active }.map(\.id))
            let disabledOperators = Set(try await sql.select().column("id").from("operators").all()
                .map { try $0.decode(column: "id", as: String.self) }).subtracting(activeOperators)
            var entries: [Entry] = []
            for user in operators where user.status != .erased {
                var flags: [Flag] = []
                if user.status == .active, (user.lastLoginAt ?? user.createdAt) < inactiveBefore { flags.append(.inactive) }
                if user.status == .active, user.role == .admin, !user.mfaEnabled { flags.append(.adminWithoutMFA) }
                entries.append(Entry(kind: "operator", id: user.id, name: user.name ?? "", email: user.email, role: user.role,
                                     permissions: user.role.permissions.map(\.rawValue).sorted(), status: user.status.rawValue,
                                     mfaEnabled: user.mfaEnabled, lastActivityAt: user.lastLoginAt, keys: [], flags: flags))
            }
            for account in try await ServiceAccountRepository.all(in: sql) {
                let role = Role(rawValue: account.role) ?? .viewer
                let keys = try await APIKeyRepository.list(accountID: account.id, in: sql).filter { $0.revokedAt == nil }.compactMap { key -> KeyInfo? in
                    let expiry = APIKeyRepository.effectiveExpiry(expiresAt: key.expiresAt, createdAt: key.createdAt, maxAge: maxAge)
                    guard expiry > Timestamp.string(from: now), let created = Timestamp.date(from: key.createdAt) else { return nil }
                    return KeyInfo(id: key.id, createdAt: key.createdAt, ageDays: Int(now.timeIntervalSince(created) / 86_400), createdBy: key.createdBy,
                                   lastUsedAt: key.lastUsedAt, expiresAt: expiry)
                }
                let lastUse = keys.compactMap(\.lastUsedAt).max()
                var flags: [Flag] = []
                if account.isActive, (lastUse ?? account.createdAt) < inactiveBefore { flags.append(.inactive) }
                if keys.contains(where: { Double($0.ageDays) * 86_400 > maxAge }) { flags.append(.keyTooOld) }
                if keys.contains(where: { $0.createdBy.map(disabledOperators.contains) ?? false }) { flags.append(.keyMintedByDisabledOperator) }
                entries.append(Entry(kind: "service_account", id: account.id, name: account.name, email: nil, role: role,
                                     permissions: role.serviceAccountPermissions.map(\.rawValue).sorted(), status: account.isActive ? "active" : "disabled",
                                     mfaEnabled: nil, lastActivityAt: lastUse, keys: keys, flags: flags))
            }
            return Report(generatedAt: Timestamp.string(from: now), inactiveDays: inactiveDays, keyMaxAgeDays: Int(maxAge / 86_400),
                          entries: entries, flagged: entries.filter { !$0.flags.isEmpty }.count)
        }
    }

    /// Records the review as of the change's time: the report stored, one audit entry.
    func record(by change: ChangeContext) async throws -> Recorded {
        try await deprovision(apply: false, record: true, by: change)
    }

    /// Disables every principal flagged `inactive` (operators through `UserAdmin`, so the last
    /// active admin is kept; service accounts with their keys) when `apply`; otherwise only says
    /// which. An applied run is recorded as a review.
    func deprovision(apply: Bool, record: Bool = false, by change: ChangeContext) async throws -> Recorded {
        let report = try await report(now: change.time)
        let inactive = report.entries.filter { $0.flags.contains(.inactive) }
        let cutoff = Timestamp.string(from: change.time.addingTimeInterval(-Double(inactiveDays) * 86_400))
        var disabled: [String] = [], kept: [String] = []
        if apply {
            for entry in inactive {
                if entry.kind == "operator" {
                    do {
                        if try await users.disable(entry.id, unlessActiveSince: cutoff, by: change).changed { disabled.append(entry.id) }
                    } catch let error as AppError where error.code == .conflict {
                        kept.append(entry.id)
                    }
                } else if try await serviceAccounts.disable(accountID: entry.id, by: change) {
                    disabled.append(entry.id)
                }
            }
        }
        guard apply || record else {
            return Recorded(reportID: nil, dryRun: true, disabled: inactive.map(\.id), kept: [], report: report)
        }
        let id = try await database.transaction { [disabled, kept] sql in
            let id = try await ReportRepository.insert(.accessReview, body: report, by: change, in: sql)
            try await AuditLog.record(action: "access_review.recorded", targetKind: "system", targetID: id, changes: [
                "principals": FieldChange(before: nil, after: .number(Double(report.entries.count))),
                "flagged": FieldChange(before: nil, after: .number(Double(report.flagged))),
                "disabled": FieldChange(before: nil, after: .array(disabled.map(JSONValue.string))),
                "kept": FieldChange(before: nil, after: .array(kept.map(JSONValue.string))),
            ], context: change, in: sql)
            return id
        }
        return Recorded(reportID: id, dryRun: false, disabled: disabled, kept: kept, report: report)
    }

    // MARK: - Command-line forms (audited as `cli`)

    public func record(at time: Date) async throws -> Recorded { try await record(by: ChangeContext(commandLineAt: time)) }

    public func deprovision(apply: Bool, at time: Date) async throws -> Recorded {
        try await deprovision(apply: apply, by: ChangeContext(commandLineAt: time))
    }

    /// The report as CSV: one line per principal, flags and keys joined with `;`.
    public static func csv(_ report: Report) -> String {
        func field(_ text: String) -> String {
            // Quoted, with quotes doubled; a leading = + - @ is neutralised so that a spreadsheet
            // never runs a name as a formula.
            var value = text
            if let first = value.first, "=+-@\t\r".contains(first) { value = "'" + value }
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        var lines = ["kind,id,name,email,role,status,mfa_enabled,last_activity_at,keys,flags"]
        for entry in report.entries {
            let keys = entry.keys.map { "\($0.id) (\($0.ageDays)d, by \($0.createdBy ?? "unknown"))" }.joined(separator: "; ")
            lines.append([entry.kind, entry.id, entry.name, entry.email ?? "", entry.role.rawValue, entry.status,
                          entry.mfaEnabled.map { String($0) } ?? "", entry.lastActivityAt ?? "", keys,
                          entry.flags.map(\.rawValue).joined(separator: "; ")].map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
