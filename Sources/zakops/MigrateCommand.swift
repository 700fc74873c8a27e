import ArgumentParser
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops migrate`: applies pending migrations, or lists them with `--status`.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations (or list them with --status)."
    )

    @OptionGroup var options: SettingsOptions

    @Flag(help: "List every migration and whether it is applied, pending, changed or unknown; exit 1 unless all are applied.")
    var status = false

    func run() async throws {
        let settings = try await options.load()
        let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardError)
        let showStatus = status
        do {
            let current = try await Database.withOpened(settings: settings, logger: logger) { database in
                let runner = try MigrationRunner(database: database, logger: logger)
                if showStatus {
                    let lines = try await runner.status()
                    for line in lines {
                        print("\(line.version)  \(line.state.rawValue)\(line.appliedAt.map { "  \($0)" } ?? "")")
                    }
                    return lines.allSatisfy { $0.state == .applied }
                }
                let applied = try await runner.migrate()
                print(applied.isEmpty ? "no pending migrations" : "applied: " + applied.joined(separator: ", "))
                return true
            }
            if !current { throw ExitCode.failure }
        } catch let error as StoreError {
            switch error {
            case .unavailable: Terminal.error("Database connection error. Check DATABASE_URL and that the database is running.")
            case .schemaMismatch(let summary): Terminal.error("refusing to migrate: \(summary). Never edit an applied migration; deploy the binary that matches the database.")
            case .invalidMigration(let detail): Terminal.error("this build's migrations are invalid: \(detail)")
            }
            throw ExitCode.failure
        }
    }
}
