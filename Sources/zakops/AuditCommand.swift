import ArgumentParser
import Foundation
import ZakOpsApp
import ZakOpsCore
import ZakOpsStore

/// `zakops audit`: the access report, stored reports, the chain's verification and exports.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Read the audit trail.", subcommands: [Access.self, Report.self, Verify.self, Export.self])

    struct Report: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an access report an auth-breach run stored (JSON), as it was at the run.")
        @OptionGroup var options: SettingsOptions
        @Argument(help: "The report's id (rpt_…), as the run printed it.") var id: String

        func run() async throws {
            let id = self.id
            try await withDatabase(options) { database, settings in
                CommandOutput.json(try await IncidentService(database: database, users: try UserAdmin(database: database, settings: settings)).storedReport(id))
            }
        }
    }

    struct Access: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The access report of a window: every write and sign-in, open sessions, API keys used, addresses and user agents seen."
        )
        @OptionGroup var options: SettingsOptions
        @Option(help: "Start of the window: a UTC time or an age such as 7d.") var since: String
        @Option(help: "End of the window (default: now).") var until: String?
        @Option(help: "Only this operator or service account id.") var principal: String?
        @Flag(help: "Print the whole report as JSON.") var json = false

        func run() async throws {
            let since = try TimeArgument.parse(since, option: "--since")
            let until = try self.until.map { try TimeArgument.parse($0, option: "--until") }
            let (principal, json) = (self.principal, self.json)
            try await withDatabase(options) { database, settings in
                let report = try await IncidentService(database: database, users: try UserAdmin(database: database, settings: settings))
                    .accessReport(since: since, until: until, principal: principal)
                if json { return CommandOutput.json(report) }
                print("access from \(report.since) to \(report.until)\(principal.map { " for \($0)" } ?? "")")
                for write in report.writes {
                    print("\(write.occurredAt)  \(write.actorKind):\(write.actorID)  \(write.action)  \(write.targetKind):\(write.targetID)  \(write.clientIP ?? "-")")
                }
                if report.truncated { print("(stopped at \(report.writes.count) entries: narrow the window or the principal)") }
                print("open sessions: \(report.sessions.count); API keys used: \(report.keyUses.count)")
                print("addresses: " + report.addresses.map { "\($0.value) (\($0.count))" }.joined(separator: ", "))
                print("user agents: " + report.userAgents.map { "\($0.value) (\($0.count))" }.joined(separator: ", "))
            }
        }
    }
}

extension AuditCommand {
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the audit chain (or check an export offline) and name the first entry changed, removed, inserted or reordered; exit 1 if any."
        )
        @OptionGroup var options: SettingsOptions
        @Option(help: "An export file (zakops audit export) to check instead of the database.") var export: String?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let (export, json) = (self.export, self.json)
            try await withDatabase(options) { database, settings in
                if let export {
                    guard let data = FileManager.default.contents(atPath: export) else {
                        Terminal.error("the export file cannot be read")
                        throw ExitCode.failure
                    }
                    let problems = AuditExport.verify(data, keys: settings.auditKeyRing)
                    if json { CommandOutput.json(["ok": JSONValue.bool(problems.isEmpty), "problems": .array(problems.map(JSONValue.string))]) }
                    else { print(problems.isEmpty ? "export verified: every entry holds its signature, the manifest matches" : problems.joined(separator: "\n")) }
                    if !problems.isEmpty { throw ExitCode.failure }
                    return
                }
                let report = try await AuditVerifier(database: database, keys: settings.auditKeyRing).verify()
                if json {
                    CommandOutput.json(report)
                } else if let problem = report.problem {
                    print("audit chain BROKEN at entry \(problem.seq)\(problem.id.map { " (\($0))" } ?? ""): \(problem.kind.rawValue) — \(problem.detail)")
                } else {
                    print("audit chain verified: \(report.checked) entries up to \(report.headSeq)\(report.unsigned > 0 ? ", \(report.unsigned) older unsigned" : "")\(report.checkpoint.map { ", after a checkpoint at \($0.seq) (\($0.purged) purged)" } ?? "")")
                }
                if !report.ok { throw ExitCode.failure }
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export the audit entries of a window as JSON lines with a signed manifest (audited).")
        @OptionGroup var options: SettingsOptions
        @Option(help: "From: a UTC time or an age such as 30d (default: the first entry).") var since: String?
        @Option(help: "Until: a UTC time or an age (default: now).") var until: String?
        @Option(help: "The file to write (new; mode 0600).") var out: String

        func run() async throws {
            let since = try self.since.map { try TimeArgument.parse($0, option: "--since") }
            let until = try self.until.map { try TimeArgument.parse($0, option: "--until") }
            let out = self.out
            guard !FileManager.default.fileExists(atPath: out) else { throw ValidationError("--out names a file that exists") }
            try await withDatabase(options) { database, settings in
                let manifest = try await AuditExport(database: database, keys: settings.auditKeyRing).write(since: since, until: until, to: out, at: Date())
                print("exported \(manifest.count) entries\(manifest.firstSeq.map { " (\($0) to \(manifest.lastSeq ?? $0))" } ?? "") to \(out); zakops audit verify --export \(out) checks it")
            }
        }
    }
}
