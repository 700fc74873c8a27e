import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops sse degraded on|off|status`: the SSE overload playbook's switch, on the database
/// directly (every instance sends its streams to polling within a second). Stats and shedding
/// are per instance: `GET /api/admin/sse/stats`, `POST /api/admin/sse/shed` on each.
struct SSECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sse",
        abstract: "Switch the event stream's degraded (polling) mode.",
        subcommands: [Degraded.self]
    )

    struct Degraded: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "on: streams answer 503 and clients poll; off: streams again; status: which.")
        @OptionGroup var options: SettingsOptions
        @Argument(help: "on, off or status") var state: String

        func validate() throws {
            guard ["on", "off", "status"].contains(state) else { throw ValidationError("say on, off or status") }
        }

        func run() async throws {
            let state = self.state
            try await withDatabase(options) { database, _ in
                if state != "status" { try await SSEAdmin(database: database).setDegraded(state == "on", at: Date()) }
                let degraded = try await SSEAdmin(database: database).isDegraded()
                print(degraded ? "degraded: on (streams answer 503; clients poll /api/events/poll)" : "degraded: off")
            }
        }
    }
}
