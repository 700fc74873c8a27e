import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops user`: operator accounts, on the database directly (works while the server is down).
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Administer operator accounts.",
        subcommands: [Create.self, List.self, Invite.self, SetRole.self, Disable.self, Enable.self, ForceReset.self, Delete.self],
        aliases: ["users"]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an operator. The password is read from standard input (first line), never from arguments."
        )

        @OptionGroup var options: SettingsOptions
        @Option(help: "E-mail address (the sign-in name).") var email: String
        @Option(help: "admin, operator or viewer.") var role: String
        @Option(help: "Display name (default: the e-mail's local part).") var name: String?

        func run() async throws {
            guard let role = Role(rawValue: role) else {
                Terminal.error("--role must be one of: admin, operator, viewer")
                throw ExitCode(2)
            }
            let settings = try await options.load()
            let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardError)
            guard let password = readLine(strippingNewline: true), !password.isEmpty else {
                Terminal.error("no password on standard input (pipe it in, for example from your password manager)")
                throw ExitCode(2)
            }
            let email = self.email
            let name = self.name ?? String(email.split(separator: "@").first ?? "operator")
            do {
                let id = try await Database.withOpened(settings: settings, logger: logger) { database in
                    try await OperatorAdmin(database: database).create(
                        email: email, name: name, role: role, password: password, mustResetPassword: false,
                        hasher: PasswordHasher(cost: settings.passwordHashCost, threads: 1)
                    )
                }
                print(id)
            } catch let error as AppError {
                Terminal.error("\(error.field ?? "input") \(error.problem ?? error.code.message)")
                throw ExitCode.failure
            }
        }
    }

    /// Names one operator: `--id` or `--email`.
    struct Target: ParsableArguments {
        @Option(help: "The operator's id (op_…).") var id: String?
        @Option(help: "The operator's e-mail address.") var email: String?

        func validate() throws {
            guard (id == nil) != (email == nil) else { throw ValidationError("name the operator with --id or --email (one of them)") }
        }

        func resolve(_ admin: UserAdmin) async throws -> UserAdmin.User {
            if let id { return try await admin.user(id) }
            return try await admin.user(email: email ?? "")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List operators: role, status, MFA, last login, open sessions.")
        @OptionGroup var options: SettingsOptions
        @Option(help: "Only this role.") var role: String?
        @Option(help: "Only this status: active, disabled, pending or erased.") var status: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let role = try self.role.map { try UserCommand.role($0) }
            let status = try self.status.map { text in
                guard let status = UserAdmin.Status(rawValue: text) else { throw ValidationError("--status must be active, disabled, pending or erased") }
                return status
            }
            let json = self.json
            try await withDatabase(options) { database, settings in
                let admin = try UserAdmin(database: database, settings: settings)
                var users: [UserAdmin.User] = []
                var cursor: String?
                repeat {
                    let page = try await admin.list(role: role, status: status, limit: 200, cursor: cursor)
                    users += page.users
                    cursor = page.nextCursor
                } while cursor != nil
                if json { return CommandOutput.json(users) }
                for user in users {
                    print([user.id, user.email ?? "(erased)", user.role.rawValue, user.status.rawValue, user.mfaEnabled ? "mfa" : "no-mfa",
                           "last-login=\(user.lastLoginAt ?? "never")", "sessions=\(user.openSessions)"].joined(separator: "  "))
                }
            }
        }
    }

    struct Invite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Invite an operator: they choose their password through a single-use link sent by mail (no password here).")
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @Option(help: "E-mail address (the sign-in name).") var email: String
        @Option(help: "admin, operator or viewer.") var role: String
        @Option(help: "Display name (default: the e-mail's local part).") var name: String?

        func run() async throws {
            let role = try UserCommand.role(role)
            let (email, flags) = (self.email, self.flags)
            let name = self.name ?? String(email.split(separator: "@").first ?? "operator")
            try await withDatabase(options) { database, settings in
                if flags.dryRun { return print("DRY RUN: would invite \(email) as \(role.rawValue)") }
                let user = try await UserAdmin(database: database, settings: settings).invite(email: email, name: name, role: role, at: Date())
                flags.json ? CommandOutput.json(user) : print("invited \(user.id) (\(email)); the link was queued for mail")
            }
        }
    }

    struct SetRole: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "role", abstract: "Change an operator's role (the last active admin cannot be demoted).")
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @OptionGroup var target: Target
        @Argument(help: "admin, operator or viewer.") var role: String

        func run() async throws {
            let role = try UserCommand.role(role)
            try await change(options, flags, target, verb: "set role \(role.rawValue) of") { admin, id in try await admin.update(id, role: role, name: nil, at: Date()) }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an operator and end all their sessions (the last active admin cannot be disabled).")
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @OptionGroup var target: Target

        func run() async throws {
            try await change(options, flags, target, verb: "disable") { admin, id in try await admin.disable(id, at: Date()) }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled operator, or approve a pending registration.")
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @OptionGroup var target: Target

        func run() async throws {
            try await change(options, flags, target, verb: "enable") { admin, id in try await admin.enable(id, at: Date()) }
        }
    }

    struct ForceReset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "force-reset",
            abstract: "Require a new password: sessions end, sign-in is refused until the mailed link is used. --all for every active operator."
        )
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @Flag(help: "Every active operator.") var all = false
        @Option(help: "The operator's id (op_…).") var id: String?
        @Option(help: "The operator's e-mail address.") var email: String?

        func validate() throws {
            guard [all, id != nil, email != nil].filter({ $0 }).count == 1 else { throw ValidationError("give exactly one of --all, --id or --email") }
        }

        func run() async throws {
            if all {
                let flags = self.flags
                return try await withDatabase(options) { database, settings in
                    let result = try await IncidentService(database: database, users: try UserAdmin(database: database, settings: settings))
                        .forceResetAll(dryRun: flags.dryRun, at: Date())
                    flags.json ? CommandOutput.json(result) : print("\(flags.dryRun ? "DRY RUN: would force" : "forced") \(result.count) password reset(s)")
                }
            }
            var target = Target()
            target.id = id
            target.email = email
            try await change(options, flags, target, verb: "force a password reset of") { admin, id in try await admin.forceReset(id, at: Date()) }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase an operator's personal data (e-mail, name, password, second factor); the id stays in the audit trail as a pseudonym."
        )
        @OptionGroup var options: SettingsOptions
        @OptionGroup var flags: PlaybookFlags
        @OptionGroup var target: Target

        func run() async throws {
            try await change(options, flags, target, verb: "erase") { admin, id in try await admin.erase(id, at: Date()) }
        }
    }

    static func role(_ text: String) throws -> Role {
        guard let role = Role(rawValue: text) else { throw ValidationError("the role must be one of: admin, operator, viewer") }
        return role
    }
}

/// One user change from the command line: find the operator, then (unless a dry run) change it.
private func change(_ options: SettingsOptions, _ flags: PlaybookFlags, _ target: UserCommand.Target, verb: String,
                    _ body: @escaping @Sendable (UserAdmin, String) async throws -> UserAdmin.Outcome) async throws {
    try await withDatabase(options) { database, settings in
        let admin = try UserAdmin(database: database, settings: settings)
        let user = try await target.resolve(admin)
        if flags.dryRun {
            return print("DRY RUN: would \(verb) \(user.id) (\(user.email ?? "erased"), \(user.role.rawValue), \(user.status.rawValue))")
        }
        let outcome = try await body(admin, user.id)
        if flags.json { return CommandOutput.json(outcome) }
        print("\(outcome.changed ? "done" : "nothing to do"): \(outcome.user.id) is \(outcome.user.role.rawValue), \(outcome.user.status.rawValue)")
    }
}
