import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops outbox`: the outbox switch and a standalone processor, on the database directly
/// (works while the servers are down; the switch reaches every instance within one poll).
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Show, pause or resume outbox delivery, or run a processor alone.",
        subcommands: [Status.self, Pause.self, Resume.self, Work.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Counts per status, the oldest pending row, and whether delivery is paused (JSON).")
        @OptionGroup var options: SettingsOptions

        func run() async throws {
            try await withAdmin(options) { admin in CommandOutput.json(try await admin.status()) }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop every processor from claiming rows (audited; survives restarts).")
        @OptionGroup var options: SettingsOptions

        func run() async throws {
            try await withAdmin(options) { admin in CommandOutput.json(try await admin.setPaused(true, at: Date())) }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Let processors claim rows again (audited).")
        @OptionGroup var options: SettingsOptions

        func run() async throws {
            try await withAdmin(options) { admin in CommandOutput.json(try await admin.setPaused(false, at: Date())) }
        }
    }

    struct Work: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run an outbox processor without the HTTP server, until SIGTERM or SIGINT.")
        @OptionGroup var options: SettingsOptions

        func run() async throws {
            let settings = try await options.load()
            let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardOutput)
            try await OutboxWorker.run(settings: settings, logger: logger)
        }
    }
}
