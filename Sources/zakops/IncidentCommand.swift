import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops incident`: the authentication-breach and data-breach playbooks, on the database
/// directly (works while the servers are down; every instance acts on the change within a
/// second — at once on PostgreSQL). See docs/runbooks/auth-breach.md and data-breach.md.
struct IncidentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident",
        abstract: "Run an incident playbook: auth-breach, lockdown.",
        subcommands: [AuthBreach.self, Lockdown.self, Evidence.self]
    )

    struct AuthBreach: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "auth-breach",
            abstract: "Revoke every session (and with --revoke-keys every API key), re-derive the signing keys, force every password reset, mail everyone, store the access report."
        )
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @Flag(help: "Revoke every API key too.") var revokeKeys = false
        @Option(help: "Start of the access report's window: a UTC time or an age such as 7d (default 7d).") var since = "7d"

        func run() async throws {
            let since = try TimeArgument.parse(since, option: "--since")
            let (dryRun, json, revokeKeys) = (flags.dryRun, flags.json, self.revokeKeys)
            try await withDatabase(options) { database, settings in
                let service = IncidentService(database: database, users: try UserAdmin(database: database, settings: settings))
                let result = try await service.authBreach(revokeKeys: revokeKeys, since: since, dryRun: dryRun, at: Date())
                if json { return CommandOutput.json(result) }
                let verb = dryRun ? "would revoke" : "revoked"
                print("\(dryRun ? "DRY RUN: nothing was changed\n" : "")sessions \(verb): \(result.sessionsRevoked)")
                print("api keys \(verb): \(result.apiKeysRevoked)\(revokeKeys ? "" : " (add --revoke-keys to revoke them)")")
                print("password resets \(dryRun ? "that would be " : "")forced: \(result.passwordResetsForced) (one mail each)")
                print("signing key generation: \(result.keyGeneration)")
                print("access report since \(result.report.since): \(result.report.writes.count) writes, \(result.report.sessions.count) sessions, \(result.report.keyUses.count) keys used, \(result.report.addresses.count) addresses")
                if let id = result.reportID { print("report stored as \(id) (zakops audit report \(id) prints it again)") }
            }
        }
    }

    struct Lockdown: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn the lockdown on or off, or show it: while on, only admins are served (503 LOCKDOWN), keys are suspended, webhooks held, streams closed."
        )
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @Argument(help: "on, off or status.") var state: String

        func run() async throws {
            guard ["on", "off", "status"].contains(state) else { throw ValidationError("the state must be on, off or status") }
            let (state, dryRun, json) = (self.state, flags.dryRun, flags.json)
            try await withDatabase(options) { database, settings in
                let service = IncidentService(database: database, users: try UserAdmin(database: database, settings: settings))
                let current = try await service.lockdownStatus()
                if state == "status" || dryRun {
                    let wanted = state == "status" ? current : state == "on"
                    if json { return CommandOutput.json(["lockdown": wanted, "changed": false]) }
                    return print(state == "status" ? "lockdown: \(current ? "on" : "off")" : "DRY RUN: lockdown would go from \(current ? "on" : "off") to \(state)")
                }
                let result = try await service.setLockdown(state == "on", at: Date())
                if json { return CommandOutput.json(result) }
                print("lockdown: \(result.lockdown ? "on" : "off")\(result.changed ? "" : " (it already was)")")
            }
        }
    }
}

extension IncidentCommand {
    struct Evidence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Preserve evidence into a new folder (audit trail, security events, sessions, keys, operators, preflight, settings) with a signed manifest; or --verify one."
        )
        @OptionGroup var options: SettingsOptions
        @Option(help: "The folder to write (new or empty).") var out: String?
        @Option(help: "A bundle folder to check against its signed manifest.") var verify: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard (out == nil) != (verify == nil) else { throw ValidationError("give --out DIR to collect or --verify DIR to check") }
        }

        func run() async throws {
            let (out, verify, json) = (self.out, self.verify, self.json)
            try await withDatabase(options) { database, settings in
                let bundle = try EvidenceBundle(database: database, settings: settings)
                if let verify {
                    let problems = try bundle.verify(URL(fileURLWithPath: verify))
                    if json { CommandOutput.json(["ok": .bool(problems.isEmpty), "problems": JSONValue.array(problems.map(JSONValue.string))]) }
                    else { print(problems.isEmpty ? "evidence verified: every file matches the signed manifest" : problems.joined(separator: "\n")) }
                    if !problems.isEmpty { throw ExitCode.failure }
                    return
                }
                let finding = await ZakOpsServer.inspect(database, logger: Logger(label: "zakops.evidence"))
                let ages = (try? await SecretAges.read(settings, database: database)) ?? [:]
                let preflight = Preflight.evaluate(settings, database: finding, tls: TLSCertificates.inspect(settings), secretAges: ages)
                let manifest = try await bundle.collect(into: URL(fileURLWithPath: out ?? ""), preflight: preflight, at: Date())
                if json { return CommandOutput.json(manifest) }
                print("evidence written to \(out ?? ""): \(manifest.files.count) files, manifest signed with key \(manifest.keyID)")
                print("keep a copy of manifest.json apart from the bundle (its HMAC: \(manifest.hmac))")
            }
        }
    }
}

/// `zakops sessions revoke-all [--role R]`.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sessions", abstract: "End sessions in bulk.", subcommands: [RevokeAll.self])

    struct RevokeAll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-all", abstract: "End every session, or every session of operators with one role (audited).")
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @Option(help: "Only operators with this role: admin, operator or viewer.") var role: String?

        func run() async throws {
            let role = try self.role.map { text in
                guard let role = Role(rawValue: text) else { throw ValidationError("--role must be one of: admin, operator, viewer") }
                return role
            }
            let (dryRun, json) = (flags.dryRun, flags.json)
            try await withDatabase(options) { database, settings in
                let result = try await IncidentService(database: database, users: try UserAdmin(database: database, settings: settings))
                    .revokeAllSessions(role: role, dryRun: dryRun, at: Date())
                json ? CommandOutput.json(result) : print("\(dryRun ? "DRY RUN: would revoke" : "revoked") \(result.count) session(s)")
            }
        }
    }
}

/// `zakops keys revoke-all`.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Revoke API keys in bulk.", subcommands: [RevokeAll.self])

    struct RevokeAll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke-all", abstract: "Revoke every live API key (audited).")
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags

        func run() async throws {
            let (dryRun, json) = (flags.dryRun, flags.json)
            try await withDatabase(options) { database, settings in
                let result = try await IncidentService(database: database, users: try UserAdmin(database: database, settings: settings))
                    .revokeAllKeys(dryRun: dryRun, at: Date())
                json ? CommandOutput.json(result) : print("\(dryRun ? "DRY RUN: would revoke" : "revoked") \(result.count) API key(s)")
            }
        }
    }
}
