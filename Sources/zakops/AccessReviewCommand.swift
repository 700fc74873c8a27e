import ArgumentParser
import Foundation
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops access-review`: every operator and service account with role, permissions, MFA,
/// last activity and keys, flagged; optionally recorded, or with the inactive disabled.
struct AccessReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "access-review",
        abstract: "Review who has access: flags inactive principals, admins without MFA, old keys, keys minted by disabled operators."
    )
    @OptionGroup var options: SettingsOptions
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Print CSV (one line per principal).") var csv = false
    @Flag(help: "Store this review and audit it (who, when).") var record = false
    @Flag(help: "Disable every principal flagged inactive (a dry run unless --apply).") var deprovisionInactive = false
    @Flag(help: "With --deprovision-inactive: really disable them (the run is recorded).") var apply = false

    func validate() throws {
        if json && csv { throw ValidationError("choose --json or --csv") }
        if apply && !deprovisionInactive { throw ValidationError("--apply goes with --deprovision-inactive") }
    }

    func run() async throws {
        let (json, csv, record, deprovision, apply) = (self.json, self.csv, self.record, deprovisionInactive, self.apply)
        try await withDatabase(options) { database, settings in
            let review = try AccessReview(database: database, settings: settings)
            if deprovision || record {
                let result = deprovision ? try await review.deprovision(apply: apply, at: Date()) : try await review.record(at: Date())
                if json { return CommandOutput.json(result) }
                if csv { return print(AccessReview.csv(result.report), terminator: "") }
                if deprovision {
                    print("\(apply ? "disabled" : "DRY RUN: would disable") \(result.disabled.count): \(result.disabled.joined(separator: ", "))")
                    if !result.kept.isEmpty { print("kept (last active admin): \(result.kept.joined(separator: ", "))") }
                }
                if let id = result.reportID { print("review recorded as \(id)") }
                return
            }
            let report = try await review.report(now: Date())
            if json { return CommandOutput.json(report) }
            if csv { return print(AccessReview.csv(report), terminator: "") }
            for entry in report.entries {
                let flags = entry.flags.isEmpty ? "" : "  FLAGS: " + entry.flags.map(\.rawValue).joined(separator: ", ")
                print("\(entry.kind) \(entry.id)  \(entry.email ?? entry.name)  \(entry.role.rawValue)  \(entry.status)  last activity: \(entry.lastActivityAt ?? "never")  keys: \(entry.keys.count)\(flags)")
            }
            print("\(report.flagged) of \(report.entries.count) flagged (inactive after \(report.inactiveDays) days, keys older than \(report.keyMaxAgeDays) days)")
        }
    }
}
