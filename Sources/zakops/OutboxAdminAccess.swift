import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// Opens the database of the settings and runs `body` with the outbox operations (`zakops
/// outbox` and `zakops dlq`).
func withAdmin(_ options: SettingsOptions, _ body: @Sendable (OutboxAdmin) async throws -> Void) async throws {
    let settings = try await options.load()
    let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardError)
    do {
        try await Database.withOpened(settings: settings, logger: logger) { database in try await body(OutboxAdmin(database: database)) }
    } catch let error as AppError {
        Terminal.error("\(error.field ?? "input") \(error.problem ?? error.code.message)")
        throw ExitCode.failure
    }
}
