import ArgumentParser
import Foundation
import ZakOpsApp

/// Opens the database of the settings and runs `body` with the outbox operations (`zakops
/// outbox` and `zakops dlq`).
func withAdmin(_ options: SettingsOptions, _ body: @Sendable (OutboxAdmin) async throws -> Void) async throws {
    try await withDatabase(options) { database, _ in try await body(OutboxAdmin(database: database)) }
}
