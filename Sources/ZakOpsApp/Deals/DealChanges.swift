import Foundation
import SQLKit
import ZakOpsCore
import ZakOpsStore

/// The audit view of a deal change: each changed field before and after; the broker (a
/// person) only as "[redacted]".
enum DealChanges {
    static func between(_ before: Deal?, _ after: Deal) -> [String: FieldChange] {
        var changes: [String: FieldChange] = [:]
        func compare(_ field: String, _ old: JSONValue?, _ new: JSONValue?) {
            if old != new { changes[field] = FieldChange(before: old, after: new) }
        }
        func money(_ value: String?) -> JSONValue? { value.map { .string($0) } }
        compare("canonical_name", before.map { .string($0.canonicalName) }, .string(after.canonicalName))
        compare("display_name", before.map { .string($0.displayName) }, .string(after.displayName))
        compare("stage", before.map { .string($0.stage.rawValue) }, .string(after.stage.rawValue))
        compare("status", before.map { .string($0.status.rawValue) }, .string(after.status.rawValue))
        // Free-form, so it may hold personal data: that it changed, not what it says.
        if before?.companyInfo != after.companyInfo {
            changes["company_info"] = FieldChange(before: before == nil ? nil : FieldChange.redacted, after: FieldChange.redacted)
        }
        compare("metrics.asking_price", money(before?.metrics.askingPrice), money(after.metrics.askingPrice))
        compare("metrics.ebitda", money(before?.metrics.ebitda), money(after.metrics.ebitda))
        compare("metrics.revenue", money(before?.metrics.revenue), money(after.metrics.revenue))
        compare("version", before.map { .number(Double($0.version)) }, .number(Double(after.version)))
        if before?.broker != after.broker {
            changes["broker"] = FieldChange(before: before?.broker == nil ? nil : FieldChange.redacted,
                                            after: after.broker == nil ? nil : FieldChange.redacted)
        }
        return changes
    }
}
