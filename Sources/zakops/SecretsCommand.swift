import ArgumentParser
import Foundation
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops secrets`: re-seal what is encrypted at rest under the current key, and show when
/// each secret last changed. See docs/runbooks/secret-rotation.md.
struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Rotate the data encryption key's ciphertexts, or show secret ages.",
        subcommands: [Rotate.self, Ages.self]
    )

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal TOTP seeds, webhook secrets and queued mail under DATA_ENCRYPTION_KEY (DATA_ENCRYPTION_KEY_PREVIOUS opens the old ones)."
        )
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags

        func run() async throws {
            let flags = self.flags
            try await withDatabase(options) { database, settings in
                guard settings.dataEncryptionKey != nil else {
                    Terminal.error("DATA_ENCRYPTION_KEY is not set: there is no key to rotate to")
                    throw ExitCode.failure
                }
                let result = try await SecretRotation(database: database, keys: try settings.dataKeyRing()).rotate(dryRun: flags.dryRun, at: Date())
                if !flags.dryRun { try await SecretAges.observe(settings, database: database) }
                if flags.json { return CommandOutput.json(result) }
                print("\(flags.dryRun ? "DRY RUN: would re-seal" : "re-sealed") under key \(result.keyID): \(result.totpSeeds) TOTP seed(s), \(result.webhookSecrets) webhook(s), \(result.mails) mail(s)")
            }
        }
    }

    struct Ages: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "When each secret last changed, against SECRET_MAX_AGE_DAYS.")
        @OptionGroup var options: SettingsOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let json = self.json
            try await withDatabase(options) { database, settings in
                let ages = try await SecretAges.read(settings, database: database)
                let days = ages.mapValues { Int(Date().timeIntervalSince($0) / 86_400) }
                if json { return CommandOutput.json(days) }
                for (name, age) in days.sorted(by: { $0.key < $1.key }) {
                    print("\(name): \(age) day(s)\(age > settings.secretMaxAgeDays ? "  OVER \(settings.secretMaxAgeDays): rotate it" : "")")
                }
            }
        }
    }
}
