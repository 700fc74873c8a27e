import ArgumentParser
import Foundation
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops retention`: the purge the server runs daily, on demand; and the policy with the last run.
struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Purge what is past its retention period (docs/data-retention.md), or show the policy.",
        subcommands: [Run.self, Status.self]
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every kind of data past its period and print the counts (audited); --dry-run counts only.")
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags

        func run() async throws {
            let flags = self.flags
            try await withDatabase(options) { database, settings in
                let run = try await RetentionService(database: database, settings: settings).run(dryRun: flags.dryRun, at: Date())
                if flags.json { return CommandOutput.json(run) }
                print(flags.dryRun ? "DRY RUN: would delete" : "deleted")
                for (kind, count) in run.counts.sorted(by: { $0.key < $1.key }) { print("  \(kind): \(count)") }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The retention period of each kind, in days, and the last run (JSON).")
        @OptionGroup var options: SettingsOptions

        func run() async throws {
            try await withDatabase(options) { database, settings in
                CommandOutput.json(try await RetentionService(database: database, settings: settings).status())
            }
        }
    }
}
