import ArgumentParser
import Foundation
import Logging
import ZakOpsApp
import ZakOpsCore

/// Flags for the non-secret settings. Secrets are never flags: arguments are visible to every
/// local user in the process list.
struct SettingsOptions: ParsableArguments {
    @Option(name: .customLong("app-env"), help: "development or production (APP_ENV).")
    var appEnv: String?

    @Option(name: .customLong("http-host"), help: "Address to listen on (HTTP_HOST).")
    var httpHost: String?

    @Option(name: .customLong("http-port"), help: "Port to listen on (HTTP_PORT).")
    var httpPort: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (LOG_LEVEL).")
    var logLevel: String?

    /// The flags, keyed by the settings they override.
    var flags: [String: String] {
        var flags: [String: String] = [:]
        flags["APP_ENV"] = appEnv
        flags["HTTP_HOST"] = httpHost
        flags["HTTP_PORT"] = httpPort
        flags["LOG_LEVEL"] = logLevel
        return flags
    }

    /// Loads settings; a bad value ends the command with a message naming the setting.
    func load() async throws -> Settings {
        do {
            return try await Bootstrap.settings(flags: flags)
        } catch let error as SettingsError {
            Terminal.error("configuration error: \(error)")
            throw ExitCode(2)
        }
    }
}
