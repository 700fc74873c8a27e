import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

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
            let date = try TimeArgument.parse(olderThan, option: "--older-than")
            try await withAdmin(options) { admin in print("purged \(try await admin.purge(olderThan: date, at: Date()))") }
        }
    }
}
