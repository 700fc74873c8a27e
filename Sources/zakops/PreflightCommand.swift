import ArgumentParser
import Logging
import Foundation
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops preflight`: the production checklist as a command; exit 1 on any FAIL.
struct PreflightCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preflight",
        abstract: "Check the production checklist against these settings and database; exit 1 on any FAIL."
    )

    @OptionGroup var options: SettingsOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let settings = try await options.load()
        let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardError)
        let finding: Preflight.DatabaseFinding
        var ages: [String: Date] = [:]
        var lastBackup: Date?
        do {
            (finding, ages, lastBackup) = try await Database.withOpened(settings: settings, poolSize: 1, create: false, logger: logger) { database in
                let finding = await ZakOpsServer.inspect(database, logger: logger)
                guard case .reachable(let state) = finding, state.isUsable else { return (finding, [:], nil) }
                return (finding, (try? await SecretAges.read(settings, database: database)) ?? [:], try? await BackupService.lastSuccess(in: database))
            }
        } catch {
            finding = .unreachable
        }
        let report = Preflight.evaluate(settings, database: finding, tls: TLSCertificates.inspect(settings), secretAges: ages, lastBackup: lastBackup)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            struct Output: Encodable { let ok: Bool; let checks: [PreflightCheck] }
            let data = try encoder.encode(Output(ok: report.ok, checks: report.checks))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(report.text)
        }
        if !report.ok { throw ExitCode.failure }
    }
}
