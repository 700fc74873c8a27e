import ArgumentParser
import Logging
import ZakOpsApp
import ZakOpsCore

/// `zakops serve`: runs the HTTP server and its background services.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the API server (preflight first in production, migrations first in development)."
    )

    @OptionGroup var options: SettingsOptions

    func run() async throws {
        let settings = try await options.load()
        let logger = Bootstrap.installLogging(for: settings, sink: LogOutput.standardOutput)
        do {
            try await ZakOpsServer.run(settings: settings, logger: logger) { Terminal.print($0) }
        } catch let error as ServeError {
            logger.critical("start refused", metadata: ["reason": .string(error.description)])
            Terminal.error(error.description)
            throw ExitCode.failure
        }
    }
}
