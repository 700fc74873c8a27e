import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops backup create|verify|restore`: encrypted backups (docs/runbooks/backup-restore.md).
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Create, verify or restore an encrypted backup (age).",
        subcommands: [Create.self, Verify.self, Restore.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a consistent snapshot, encrypted to BACKUP_AGE_RECIPIENT, while the server keeps writing (audited).")
        @OptionGroup var options: SettingsOptions
        @Option(help: "The file to write (new; default zakops-<time>.backup.age here).") var out: String?
        @Flag(help: "Print the manifest as JSON.") var json = false

        func run() async throws {
            let now = Date()
            let out = self.out ?? "zakops-\(Timestamp.string(from: now).replacingOccurrences(of: ":", with: "")).backup.age"
            let json = self.json
            try await withDatabase(options) { database, settings in
                let manifest = try await BackupService(database: database, settings: settings, logger: Logger(label: "zakops.backup")).create(to: out, at: now)
                if json { return CommandOutput.json(manifest) }
                print("backup written to \(out): \(manifest.dumpBytes) bytes of \(manifest.dialect) at schema \(manifest.schemaVersion), SHA-256 \(manifest.dumpSHA256)")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Decrypt a backup with the identity file and check it against its manifest (nothing is restored).")
        @OptionGroup var options: SettingsOptions
        @Argument(help: "The backup file.") var file: String
        @Option(help: "The age identity (private key) file.") var identity: String
        @Flag(help: "Print the manifest as JSON.") var json = false

        func run() async throws {
            do {
                let manifest = try await BackupService.verify(file: file, identity: identity)
                if json { return CommandOutput.json(manifest) }
                print("backup verified: \(manifest.dialect) at schema \(manifest.schemaVersion), made \(manifest.createdAt), \(manifest.rowCounts.values.reduce(0, +)) rows")
            } catch let error as AppError {
                Terminal.error("\(error.field ?? "backup") \(error.problem ?? error.code.message)")
                throw ExitCode.failure
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore a backup into the database of the settings (stop the servers first).")
        @OptionGroup var options: SettingsOptions
        @Argument(help: "The backup file.") var file: String
        @Option(help: "The age identity (private key) file.") var identity: String
        @Flag(help: "Replace a database that holds data.") var force = false

        func run() async throws {
            let (file, identity, force) = (self.file, self.identity, self.force)
            try await withDatabase(options) { database, settings in
                let manifest = try await BackupService(database: database, settings: settings, logger: Logger(label: "zakops.backup"))
                    .restore(file: file, identity: identity, force: force)
                print("restored the backup made \(manifest.createdAt) (schema \(manifest.schemaVersion)); run zakops migrate if this binary is newer")
            }
        }
    }
}
