import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// Opens the database of the settings and runs `body` with it; a refusal (`AppError`) is told
/// at the terminal by its field and problem, and the command exits with status 1.
func withDatabase(_ options: SettingsOptions, _ body: @Sendable (Database, Settings) async throws -> Void) async throws {
    let settings = try await options.load()
    let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardError)
    do {
        try await Database.withOpened(settings: settings, logger: logger) { database in
            database.auditKeys = settings.auditKeyRing
            try await body(database, settings)
        }
    } catch let error as AppError {
        Terminal.error("\(error.field ?? "input") \(error.problem ?? error.code.message)")
        throw ExitCode.failure
    }
}
