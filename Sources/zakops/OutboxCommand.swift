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

/// `zakops dlq`: the dead-letter queue — list, count, retry, purge — audited as `cli`.
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Inspect, retry or purge dead outbox rows (the DLQ).",
        subcommands: [List.self, Stats.self, Retry.self, Purge.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead rows, oldest first, without payloads (JSON).")
        @OptionGroup var options: SettingsOptions
        @Option(help: "Only this consumer (for example webhook:wh_…).") var consumer: String?
        @Option(help: "Only this event type.") var eventType: String?
        @Option(help: "At most this many rows (1 to 200).") var limit = 50
        @Option(help: "The next_cursor of a previous page.") var cursor: String?

        func run() async throws {
            guard (1...200).contains(limit) else { throw ValidationError("--limit must be from 1 to 200") }
            try await withAdmin(options) { admin in
                CommandOutput.json(try await admin.dead(
                    consumer: try consumer.map { try OutboxAdmin.filterText($0, field: "consumer") },
                    eventType: try eventType.map { try OutboxAdmin.filterText($0, field: "event-type") },
                    limit: limit, cursor: cursor))
            }
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead rows by consumer and event type, with the oldest (JSON).")
        @OptionGroup var options: SettingsOptions

        func run() async throws {
            try await withAdmin(options) { admin in CommandOutput.json(try await admin.stats()) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead rows back in the queue: one by --id, or those matching --consumer/--event-type, or --all."
        )
        @OptionGroup var options: SettingsOptions
        @Option(help: "One dead row's id (msg_…).") var id: String?
        @Option(help: "Only this consumer.") var consumer: String?
        @Option(help: "Only this event type.") var eventType: String?
        @Flag(help: "Every dead row.") var all = false

        func validate() throws {
            guard all || id != nil || consumer != nil || eventType != nil else {
                throw ValidationError("name what to retry: --id, --consumer, --event-type, or --all")
            }
            guard !(all && (id != nil || consumer != nil || eventType != nil)) else { throw ValidationError("--all stands alone") }
        }

        func run() async throws {
            try await withAdmin(options) { admin in
                let count = try await admin.retry(id: id, consumer: try consumer.map { try OutboxAdmin.filterText($0, field: "consumer") },
                                                  eventType: try eventType.map { try OutboxAdmin.filterText($0, field: "event-type") }, at: Date())
                print("retried \(count)")
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead rows created before a time (audited).")
        @OptionGroup var options: SettingsOptions
        @Option(help: "A UTC time such as 2026-01-31T12:00:00.000Z, or a number of days ago such as 7d.") var olderThan: String

        func run() async throws {
            let date: Date
            if olderThan.hasSuffix("d"), let days = Int(olderThan.dropLast()), (0...3650).contains(days) {
                date = Date().addingTimeInterval(-Double(days) * 86_400)
            } else if let parsed = Timestamp.date(from: olderThan) {
                date = parsed
            } else {
                throw ValidationError("--older-than must be a UTC time such as 2026-01-31T12:00:00.000Z or a number of days such as 7d")
            }
            try await withAdmin(options) { admin in print("purged \(try await admin.purge(olderThan: date, at: Date()))") }
        }
    }
}

/// Opens the database of the settings and runs `body` with the outbox operations.
private func withAdmin(_ options: SettingsOptions, _ body: @Sendable (OutboxAdmin) async throws -> Void) async throws {
    let settings = try await options.load()
    let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardError)
    do {
        try await Database.withOpened(settings: settings, logger: logger) { database in try await body(OutboxAdmin(database: database)) }
    } catch let error as AppError {
        Terminal.error("\(error.field ?? "input") \(error.problem ?? error.code.message)")
        throw ExitCode.failure
    }
}

/// JSON on standard output: sorted keys, one document.
enum CommandOutput {
    static func json(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
    }
}
