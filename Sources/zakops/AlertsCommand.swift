import ArgumentParser
import Foundation
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops alerts`: the built-in alerts as the embedded evaluator left them; `zakops alerts
/// rules` prints the same rules for Prometheus (`deploy/prometheus/alerts.yml` is its output).
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Show the built-in alerts' states, or print them as Prometheus rules (docs/monitoring.md).",
        subcommands: [Status.self, Rules.self],
        defaultSubcommand: Status.self
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every alert with its state (inactive, pending, firing), value and times.")
        @OptionGroup var options: SettingsOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let json = self.json
            try await withDatabase(options) { database, _ in
                let overview = try await AlertsOverview.read(in: database)
                if json { return CommandOutput.json(overview) }
                for alert in overview.alerts {
                    let value = alert.status.value.map { String(format: "%.4g", $0) } ?? "-"
                    let since = alert.status.activeSince ?? alert.status.resolvedAt.map { "resolved \($0)" } ?? ""
                    let scope = alert.embedded ? "" : " (Prometheus only)"
                    print("\(alert.status.state.rawValue.uppercased().padding(toLength: 9, withPad: " ", startingAt: 0)) \(alert.name)  value \(value)  \(since)\(scope)")
                }
            }
        }
    }

    struct Rules: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the alerts as a Prometheus rule file.")
        @Option(help: "Divide every window and duration by this (tests run minutes as seconds).") var timeScale = 1
        @Option(help: "Write to this file instead of standard output.") var out: String?

        func validate() throws {
            guard (1...3600).contains(timeScale) else { throw ValidationError("--time-scale must be from 1 to 3600") }
        }

        func run() throws {
            let text = PrometheusRules.render(timeScale: timeScale)
            if let out {
                try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
            } else {
                print(text, terminator: "")
            }
        }
    }
}
