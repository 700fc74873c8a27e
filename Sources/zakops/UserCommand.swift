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
        abstract: "Create or disable operator accounts.",
        subcommands: [Create.self, Disable.self]
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

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable an operator and end all their sessions.")

        @OptionGroup var options: SettingsOptions
        @Option(help: "E-mail address of the operator.") var email: String

        func run() async throws {
            let settings = try await options.load()
            let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardError)
            let email = self.email
            let found = try await Database.withOpened(settings: settings, logger: logger) { database in
                try await OperatorAdmin(database: database).disable(email: email, mailer: OutboxMailer(database: database))
            }
            guard found else {
                Terminal.error("no operator with that e-mail address")
                throw ExitCode.failure
            }
        }
    }
}
